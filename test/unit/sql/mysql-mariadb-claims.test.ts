// The lexer's and folder's claims checked on the real MariaDB (127.0.0.1:3306): what runs, what is skipped, what hits every row.
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, initSql } from '../../../src/sql/analyze.js';
import type { ReadOptions } from '../../../src/sql/facts.js';

const DB = 'dbw_mysql_claims';
let conn: mysql.Connection;
let serverVersion = 0;

beforeAll(async () => {
  await initSql();
  conn = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', multipleStatements: true });
  const [rows] = await conn.query('SELECT VERSION() AS v');
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(String((rows as Array<{ v: string }>)[0]!.v))!;
  serverVersion = Number(m[1]) * 10000 + Number(m[2]) * 100 + Number(m[3]);
  await conn.query(`CREATE DATABASE IF NOT EXISTS ${DB}`);
  await conn.query(`USE ${DB}`);
});

afterAll(async () => {
  await conn?.query(`DROP DATABASE IF EXISTS ${DB}`);
  await conn?.end();
});

async function resetTable(): Promise<void> {
  await conn.query("SET SESSION sql_mode = DEFAULT");
  await conn.query("DROP TABLE IF EXISTS t; CREATE TABLE t (id INT NOT NULL, name VARCHAR(10)); INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c')");
}

/** Runs `sql` as one COM_QUERY; errors after (or instead of) the interesting part are expected. */
async function run(sql: string): Promise<void> {
  try {
    await conn.query(sql);
  } catch {
    // e.g. an unknown column after the statement under test: the server stops there, as it would for a client
  }
}

async function tableExists(): Promise<boolean> {
  const [rows] = await conn.query(`SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = '${DB}' AND TABLE_NAME = 't'`);
  return Number((rows as Array<{ n: number }>)[0]!.n) === 1;
}

async function rowCount(): Promise<number> {
  const [rows] = await conn.query('SELECT COUNT(*) AS n FROM t');
  return Number((rows as Array<{ n: number }>)[0]!.n);
}

const known = (extra: ReadOptions = {}): ReadOptions => ({ serverVersion, mariadb: true, ansiQuotes: false, noBackslashEscapes: false, ...extra });

describe('what MariaDB runs of a text, and what analyze() says it runs', () => {
  // [text, does the server drop t]
  const cases: Array<[string, boolean]> = [
    ['/*!99999 DROP TABLE t */', false],
    ['/*!10000 DROP TABLE t*/', true],
    ['/*!50700 DROP TABLE t */', false],
    ['/*!50699 DROP TABLE t */', true],
    ['/*!80000 DROP TABLE t */', false],
    ['/*!100000 DROP TABLE t */', true],
    ['/*!999999 DROP TABLE t */', false],
    ['/*!1234567 DROP TABLE t */', false],
    ['/*! DROP TABLE t */', true],
    ['/*M! DROP TABLE t */', true],
    ['/*M!50700 DROP TABLE t */', true],
    ['/*M!100000 DROP TABLE t */', true],
    ['/*M!999999 DROP TABLE t */', false],
    ['SELECT 1 # ; DROP TABLE t', false],
    ['SELECT 1 -- ; DROP TABLE t', false],
    ['SELECT 1 --1; DROP TABLE t', true],
    ['SELECT 1 /* ; DROP TABLE t */', false],
    ['SELECT 1; /*!40000 DROP TABLE t */', true],
    ["SELECT 'a\\'; DROP TABLE t; -- '", false],
    ['SELECT "a; DROP TABLE t; -- "', false],
    ["SELECT '/*'; DROP TABLE t; SELECT '*/'", true],
    ['SELECT 1 AS `x;DROP TABLE t`', false],
    ['SELECT 1 AS "a\\"; DROP TABLE t; -- "', false],
  ];
  it.each(cases)('%s → dropped: %s', async (sql, dropped) => {
    await resetTable();
    await run(sql);
    expect(await tableExists(), 'server').toBe(!dropped);
    const facts = analyze('mysql', sql, known());
    expect(facts.some((f) => f.kind === 'drop'), JSON.stringify(facts)).toBe(dropped);
    expect(facts.some((f) => f.kind === 'unparsed')).toBe(false);
  });

  it('follows NO_BACKSLASH_ESCAPES', async () => {
    const sql = "SELECT 'a\\'; DROP TABLE t; -- '";
    await resetTable();
    await conn.query("SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES'");
    await run(sql);
    expect(await tableExists(), 'server').toBe(false);
    expect(analyze('mysql', sql, known({ noBackslashEscapes: true })).some((f) => f.kind === 'drop')).toBe(true);
    // not knowing the session's sql_mode, both readings count
    expect(analyze('mysql', sql, { serverVersion, mariadb: true }).some((f) => f.kind === 'drop')).toBe(true);
  });

  it('follows ANSI_QUOTES', async () => {
    const sql = 'SELECT 1 AS "a\\"; DROP TABLE t; -- "';
    await resetTable();
    await conn.query("SET SESSION sql_mode = 'ANSI_QUOTES'");
    await run(sql);
    expect(await tableExists(), 'server').toBe(false);
    expect(analyze('mysql', sql, known({ ansiQuotes: true })).some((f) => f.kind === 'drop')).toBe(true);
    expect(analyze('mysql', sql, { serverVersion, mariadb: true }).some((f) => f.kind === 'drop')).toBe(true);
  });
});

describe('WHERE clauses analyze() calls always-true delete every row on MariaDB', () => {
  const alwaysTrue = [
    '1=1', '1', 'true', "'a'='A'", "'1abc'", 'id=id', 'NOT false', 'id = 5 OR true', '1 IN (1)', '1 <=> 1',
    'NULL IS NULL', '2 BETWEEN 1 AND 3', 'EXISTS (SELECT 1)', "name LIKE '%'", "'a' = 'a  '", '(1)', '1 + 1 = 2', 'id = 1 OR 1 = 1',
  ];
  it.each(alwaysTrue)('DELETE FROM t WHERE %s', async (where) => {
    const sql = `DELETE FROM t WHERE ${where}`;
    expect(analyze('mysql', sql, known())[0]!.where).toBe('always-true');
    await resetTable();
    await conn.query(sql);
    expect(await rowCount()).toBe(0);
  });

  const scoped = ["'abc'", '1 = 0', 'NULL', 'id = 1', 'false', 'id IN (1, 2)'];
  it.each(scoped)('DELETE FROM t WHERE %s keeps rows and is present', async (where) => {
    const sql = `DELETE FROM t WHERE ${where}`;
    expect(analyze('mysql', sql, known())[0]!.where).toBe('present');
    await resetTable();
    await conn.query(sql);
    expect(await rowCount()).toBeGreaterThan(0);
  });
});
