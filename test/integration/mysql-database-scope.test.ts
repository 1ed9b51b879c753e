// The grant's database scope on MySQL beyond USE: one MariaDB connection can name any database its upstream role
// may use, so a grant for dbw_my must not read or change dbw_my_other through qualified names, SHOW … FROM,
// database DDL, routines, sequences or statements nested in PREPARE / views / routine bodies. Proven first: the
// upstream write role itself may use dbw_my_other (the fixture grants it), so only the broker stands in the way.
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { myAdmin, startMysqlTestBroker, type MysqlTestBroker } from '../helpers/mysql.js';

let b: MysqlTestBroker;

beforeAll(async () => {
  b = await startMysqlTestBroker();
  await myAdmin(`
    CREATE TABLE IF NOT EXISTS dbw_my_other.scope_secret (id INT PRIMARY KEY, v TEXT);
    REPLACE INTO dbw_my_other.scope_secret VALUES (1, 'other-secret'), (2, 'other-secret-2');
    CREATE SEQUENCE IF NOT EXISTS dbw_my_other.scope_seq;
    DROP FUNCTION IF EXISTS dbw_my_other.scope_fn;
    CREATE FUNCTION dbw_my_other.scope_fn() RETURNS TEXT READS SQL DATA RETURN (SELECT v FROM dbw_my_other.scope_secret WHERE id = 1);
    CREATE TABLE IF NOT EXISTS dbw_my.scope_mine (id INT PRIMARY KEY, v TEXT);
    REPLACE INTO dbw_my.scope_mine VALUES (1, 'mine');
  `);
});
afterAll(async () => {
  await b?.close();
  await myAdmin('DROP TABLE IF EXISTS dbw_my.scope_copy; DROP TABLE IF EXISTS dbw_my_other.scope_secret; DROP SEQUENCE IF EXISTS dbw_my_other.scope_seq; DROP FUNCTION IF EXISTS dbw_my_other.scope_fn; DROP TABLE IF EXISTS dbw_my.scope_mine; DROP DATABASE IF EXISTS dbw_my_scope_new');
});

async function connect(access: 'read' | 'write', databases: string[]): Promise<mysql.Connection> {
  const g = await b.grant({ access, databases });
  return mysql.createConnection({ host: '127.0.0.1', port: b.myPort, user: g.login, password: g.password, database: 'dbw_my' });
}

/** Statements naming dbw_my_other, each of which the write role runs when the grant covers dbw_my_other. */
const OUTSIDE = [
  'SELECT v FROM dbw_my_other.scope_secret',
  'SELECT v FROM `dbw_my_other`.`scope_secret`',
  'SELECT (SELECT v FROM dbw_my_other.scope_secret WHERE id = 1) AS v',
  'SELECT m.v FROM scope_mine m JOIN dbw_my_other.scope_secret s ON s.id = m.id',
  'SELECT dbw_my_other.scope_secret.v FROM dbw_my_other.scope_secret',
  'SELECT dbw_my_other.scope_fn() AS v',
  'SELECT NEXT VALUE FOR dbw_my_other.scope_seq AS n',
  'SELECT nextval(dbw_my_other.scope_seq) AS n',
  'SHOW TABLES FROM dbw_my_other',
  'SHOW FULL TABLES IN `dbw_my_other`',
  'SHOW CREATE TABLE dbw_my_other.scope_secret',
  'SHOW COLUMNS FROM scope_secret FROM dbw_my_other',
  'SHOW INDEX FROM dbw_my_other.scope_secret',
  'SHOW CREATE DATABASE dbw_my_other',
  'DESCRIBE dbw_my_other.scope_secret',
  'CHECKSUM TABLE dbw_my_other.scope_secret',
  'ANALYZE TABLE dbw_my_other.scope_secret',
  'EXPLAIN SELECT * FROM dbw_my_other.scope_secret',
  'ANALYZE FORMAT=JSON SELECT s.v FROM dbw_my_other.scope_secret s WHERE s.id = 1',
  'UPDATE dbw_my_other.scope_secret SET v = v WHERE id = 2',
  'DELETE FROM dbw_my_other.scope_secret WHERE id = 3',
  'INSERT INTO scope_mine (id, v) SELECT id + 100, v FROM dbw_my_other.scope_secret WHERE id = 1',
  "PREPARE scope_p FROM 'SELECT v FROM dbw_my_other.scope_secret'",
  'CREATE TABLE scope_copy LIKE dbw_my_other.scope_secret',
];
/** Names a database no grant covers (the upstream role may not create it either; the broker refuses it first). */
const NEW_DATABASE = 'CREATE DATABASE dbw_my_scope_new';

describe('a grant for dbw_my cannot reach dbw_my_other without USE', () => {
  it('every statement runs for a grant that covers dbw_my_other (the upstream role may use it)', async () => {
    const c = await connect('write', ['dbw_my', 'dbw_my_other']);
    for (const sql of OUTSIDE) {
      // the row-count and rules are not what is tested here: each must simply run upstream
      await expect(c.query(sql).then(() => 'ran'), sql).resolves.toBe('ran');
      if (sql.startsWith('INSERT')) await c.query('DELETE FROM scope_mine WHERE id > 100');
      if (sql.startsWith('CREATE TABLE')) await myAdmin('DROP TABLE IF EXISTS dbw_my.scope_copy');
    }
    await c.end();
  });

  for (const access of ['read', 'write'] as const) {
    it(`a ${access} grant for dbw_my only gets ERR 1044 for each, and dbw_my_other is unchanged`, async () => {
      const c = await connect(access, ['dbw_my']);
      for (const sql of [...OUTSIDE, NEW_DATABASE]) {
        const e = await c.query(sql).then(() => null, (x: { errno?: number; message: string }) => x);
        expect(e, sql).not.toBeNull();
        expect(e!.errno, sql).toBe(1044);
        expect(e!.message, sql).toMatch(/database 'dbw_my_other' is outside this grant \(it covers dbw_my\)|database 'dbw_my_scope_new' is outside this grant/);
      }
      // the binary protocol is held to the same scope
      const p = await c.execute('SELECT v FROM dbw_my_other.scope_secret WHERE id = ?', [1]).catch((x) => x);
      expect(p.errno).toBe(1044);
      // its own database, system schemas and ordinary aliases still work
      expect((await c.query('SELECT m.v FROM scope_mine AS m WHERE m.id = 1'))[0]).toEqual([{ v: 'mine' }]);
      expect((await c.query('SELECT d.x FROM (SELECT 1 AS x) AS d'))[0]).toEqual([{ x: 1 }]);
      // a statement around a query (read without the parser) keeps its aliases as aliases
      await c.query('ANALYZE FORMAT=JSON SELECT m.v FROM scope_mine m WHERE m.id = 1');
      expect((await c.query('SELECT dbw_my.scope_mine.v FROM dbw_my.scope_mine'))[0]).toEqual([{ v: 'mine' }]);
      await c.query('SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()');
      await c.query('SELECT @@session.sql_mode AS m');
      await c.end();
      const [rows] = (await myAdminRows('SELECT COUNT(*) AS n FROM dbw_my_other.scope_secret')) as [Array<{ n: number }>];
      expect(rows[0]!.n).toBe(2);
      const [dbs] = (await myAdminRows("SHOW DATABASES LIKE 'dbw_my_scope_new'")) as [unknown[]];
      expect(dbs).toEqual([]);
    });
  }
});

async function myAdminRows(sql: string): Promise<unknown> {
  const c = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', password: '' });
  try {
    return await c.query(sql);
  } finally {
    await c.end();
  }
}
