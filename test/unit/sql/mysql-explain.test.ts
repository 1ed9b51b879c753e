// EXPLAIN/ANALYZE forms that answer with the plan as text (masked whole while masks apply) and the table (not).
import { describe, expect, it } from 'vitest';
import { explainPrintsText } from '../../../src/sql/mysql-explain.js';

describe('explainPrintsText', () => {
  it.each([
    ['EXPLAIN FORMAT=JSON SELECT 1 FROM t', true],
    ['ANALYZE FORMAT = JSON SELECT 1 FROM t', true],
    ['EXPLAIN /*!50000 FORMAT=JSON */ SELECT 1 FROM t', true],
    ['EXPLAIN ANALYZE SELECT 1 FROM t', true],
    ['EXPLAIN FOR CONNECTION 5', true],
    ['EXPLAIN SELECT 1 FROM t', false],
    ['EXPLAIN EXTENDED SELECT 1 FROM t', false],
    ['ANALYZE SELECT 1 FROM t', false],
    ["EXPLAIN SELECT 'FORMAT' FROM t", false],
    ['DESC users', false],
  ])('%s → %s', (sql, text) => {
    expect(explainPrintsText(sql)).toBe(text);
  });
});
