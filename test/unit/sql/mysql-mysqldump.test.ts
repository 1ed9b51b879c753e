// Statements mysqldump sends on its own connection must be readable and allowed on a read grant.
import { beforeAll, describe, expect, it } from 'vitest';
import { checkSql } from '../../../src/rules/check.js';
import { initSql } from '../../../src/sql/analyze.js';

beforeAll(async () => {
  await initSql();
});

describe('mysqldump connection statements (read grant)', () => {
  it.each([
    'START TRANSACTION /*!40100 WITH CONSISTENT SNAPSHOT */',
    'START TRANSACTION READ ONLY',
    'SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ',
    'UNLOCK TABLES',
    "SHOW VARIABLES LIKE 'gtid\\_mode'",
  ])('allows %s', (sql) => {
    expect(checkSql({ sql, dialect: 'mysql', access: 'read', rulesDir: 'rules' }).action).toBe('allow');
  });

  it('does not let START TRANSACTION carry anything else', () => {
    expect(checkSql({ sql: 'START TRANSACTION WITH CONSISTENT SNAPSHOT; DROP TABLE t', dialect: 'mysql', access: 'read', rulesDir: 'rules' }).action).toBe('block');
    expect(checkSql({ sql: 'START TRANSACTION WITH (SELECT 1)', dialect: 'mysql', access: 'read', rulesDir: 'rules' }).action).toBe('block');
  });
});
