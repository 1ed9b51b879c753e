// The facts the MySQL row masker reads instead of the text: whether a statement's result may come from more than
// one query block (StatementFacts.composite) and whether it is SHOW WARNINGS / ERRORS (StatementFacts.diagnostics).
import { beforeAll, describe, expect, it } from 'vitest';
import { analyze, initSql } from '../../../src/sql/analyze.js';

beforeAll(async () => {
  await initSql();
});

const top = (text: string) => analyze('mysql', text).filter((f) => !f.nested);

describe('MySQL result facts', () => {
  it.each([
    ['SELECT a FROM t WHERE b IN (SELECT c FROM u)', true],
    ['SELECT a FROM t WHERE EXISTS (SELECT 1 FROM u)', true],
    ['SELECT (SELECT email FROM u LIMIT 1) AS x FROM t', true],
    ['SELECT * FROM (SELECT email AS id FROM users) AS users', true],
    ['SELECT a FROM t UNION SELECT b FROM u', true],
    ['WITH x AS (SELECT email FROM u) SELECT * FROM x', true],
    ['VALUES (1), (2)', true],
    ['SELECT a, b FROM t JOIN u ON t.id = u.id WHERE a = 1', false],
    // words in strings, comments and names are not query blocks (the text regex counted them)
    ["SELECT 'select with values', email FROM t /* select */", false],
    ['SELECT `values` FROM `select`', false],
  ])('%s → composite %s', (text, composite) => {
    const facts = top(text);
    expect(facts.map((f) => f.kind)).toEqual(['select']);
    expect(facts.some((f) => f.composite === true)).toBe(composite);
  });

  it('each statement of a multi-statement text has its own', () => {
    expect(top('SELECT a FROM t; SELECT * FROM (SELECT b FROM u) d').map((f) => !!f.composite)).toEqual([false, true]);
  });

  it.each([
    ['SHOW WARNINGS', true],
    ['show errors limit 1', true],
    ['SHOW COUNT(*) WARNINGS', true],
    ['SHOW /* c */ WARNINGS', true],
    ['SHOW TABLES', false],
    ["SELECT 'SHOW WARNINGS'", false],
  ])('%s → diagnostics %s', (text, diagnostics) => {
    expect(top(text).some((f) => f.diagnostics === true)).toBe(diagnostics);
  });

  it.each([
    ['SELECT @v := email FROM users', true],
    ['SELECT email FROM users WHERE (@v:=email) IS NOT NULL', true],
    ["SELECT ':=', email FROM users", false],
    ['SELECT email FROM users WHERE a = 1', false],
  ])('%s → assignsVariable %s', (text, assigns) => {
    expect(top(text).some((f) => f.assignsVariable === true)).toBe(assigns);
  });
});
