// mysql2 through the broker to the local MariaDB: text and binary protocol, blocking with ERR 1227, databases
// limited to the grant, refused commands, packets of 16 MiB and more both ways, streaming.
import mysql from 'mysql2/promise';
import mysqlCb from 'mysql2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { myAdmin, startMysqlTestBroker, type MysqlTestBroker } from '../helpers/mysql.js';

let b: MysqlTestBroker;
let cred: Awaited<ReturnType<MysqlTestBroker['grant']>>;

beforeAll(async () => {
  b = await startMysqlTestBroker({ limits: { maxQueryBytes: 64 << 20 } });
  cred = await b.grant({ access: 'write', databases: ['dbw_my', 'dbw_my_other'] });
  await myAdmin(`
    SET GLOBAL max_allowed_packet = 67108864;
    DROP TABLE IF EXISTS dbw_my.relay_t;
    CREATE TABLE dbw_my.relay_t (id INT PRIMARY KEY, v LONGTEXT);
  `);
});
afterAll(async () => {
  await b?.close();
});

function connect(extra: mysql.ConnectionOptions = {}): Promise<mysql.Connection> {
  return mysql.createConnection({ host: '127.0.0.1', port: b.myPort, user: cred.login, password: cred.password, database: 'dbw_my', ...extra });
}

describe('mysql2 through dbwarden', () => {
  it('runs text and binary-protocol queries as the write role', async () => {
    const c = await connect();
    const [rows] = await c.query('SELECT 1 AS one, CURRENT_USER() AS who, DATABASE() AS db');
    expect(rows).toEqual([{ one: 1, who: 'dbw_my_rw@%', db: 'dbw_my' }]);
    await c.query('INSERT INTO relay_t VALUES (1, ?) ON DUPLICATE KEY UPDATE v = VALUES(v)', ['a']);
    const [r2] = await c.execute('SELECT v FROM relay_t WHERE id = ?', [1]);
    expect(r2).toEqual([{ v: 'a' }]);
    // a prepared statement is reused by id
    for (let i = 2; i < 6; i++) await c.execute('INSERT INTO relay_t VALUES (?, ?) ON DUPLICATE KEY UPDATE v = VALUES(v)', [i, `v${i}`]);
    const [n] = await c.execute('SELECT COUNT(*) AS n FROM relay_t WHERE id BETWEEN ? AND ?', [2, 5]);
    expect(n).toEqual([{ n: 4 }]);
    await c.end();
  });

  it('blocks DELETE without WHERE with ERR 1227 / 42000 and the SPEC message; the session goes on', async () => {
    const c = await connect();
    const err = await c.query('DELETE FROM relay_t').catch((e) => e);
    expect(err.errno).toBe(1227);
    expect(err.sqlState).toBe('42000');
    expect(err.message).toMatch(/^dbwarden: blocked by rule unscoped-write: /);
    const [rows] = await c.query('SELECT COUNT(*) AS n FROM relay_t');
    expect((rows as { n: number }[])[0]!.n).toBeGreaterThan(0);
    await c.end();
  });

  it('runs none of a blocked multi-statement string', async () => {
    const c = await connect({ multipleStatements: true });
    const [multi] = await c.query('SELECT 1 AS a; SELECT 2 AS b');
    expect(multi).toEqual([[{ a: 1 }], [{ b: 2 }]]);
    const err = await c.query("INSERT INTO relay_t VALUES (60, 'multi'); DELETE FROM relay_t").catch((e) => e);
    expect(err.errno).toBe(1227);
    const [rows] = await c.query('SELECT COUNT(*) AS n FROM relay_t WHERE id = 60');
    expect(rows).toEqual([{ n: 0 }]);
    await c.end();
  });

  it('a blocked COM_STMT_PREPARE leaves no statement behind', async () => {
    const c = await connect();
    const [before] = await c.query("SHOW SESSION STATUS LIKE 'Com_stmt_prepare'");
    const err = await c.execute('DROP TABLE relay_t').catch((e) => e);
    expect(err.errno).toBe(1227);
    expect(err.message).toMatch(/^dbwarden: blocked by rule drop: /);
    const [after] = await c.query("SHOW SESSION STATUS LIKE 'Com_stmt_prepare'");
    expect(after).toEqual(before);
    const [ok] = await c.execute('SELECT ? + 1 AS n', [41]);
    expect(ok).toEqual([{ n: 42 }]);
    await c.end();
  });

  it('keeps a transaction across a blocked statement (MySQL does not abort it)', async () => {
    const c = await connect();
    await c.query('DELETE FROM relay_t WHERE id = 70');
    await c.beginTransaction();
    await c.query("INSERT INTO relay_t VALUES (70, 'tx')");
    expect((await c.query('TRUNCATE TABLE relay_t').catch((e) => e)).errno).toBe(1227);
    await c.rollback();
    const [rows] = await c.query('SELECT COUNT(*) AS n FROM relay_t WHERE id = 70');
    expect(rows).toEqual([{ n: 0 }]);
    await c.end();
  });

  it('limits COM_INIT_DB, USE and the connect database to the grant', async () => {
    const c = await connect();
    await c.query('USE dbw_my_other');
    expect(await c.query('SELECT DATABASE() AS db').then(([r]) => r)).toEqual([{ db: 'dbw_my_other' }]);
    const use = await c.query('USE mysql').catch((e) => e);
    expect(use.errno).toBe(1044);
    expect(use.message).toMatch(/to database 'mysql'/);
    // the database a USE names is a fact read as the server reads the text: a version comment, a quoted name
    // or a USE after another statement cannot slip past the grant's scope
    // (a grant of dbw_my only: the upstream role itself may use dbw_my_other, so only the broker refuses it)
    const narrow = await b.grant({ access: 'write', databases: ['dbw_my'] });
    const n = await mysql.createConnection({ host: '127.0.0.1', port: b.myPort, user: narrow.login, password: narrow.password, database: 'dbw_my', multipleStatements: true });
    for (const sql of ['/*!USE dbw_my_other*/', '/*!50000 USE dbw_my_other */', 'USE `dbw_my_other`', 'SELECT 1; USE dbw_my_other']) {
      const e = await n.query(sql).catch((x) => x);
      expect(e.errno, sql).toBe(1044);
      expect(e.message, sql).toMatch(/to database 'dbw_my_other' \(dbwarden: this grant covers dbw_my\)/);
      expect(await n.query('SELECT DATABASE() AS db').then(([r]) => r)).toEqual([{ db: 'dbw_my' }]);
    }
    await n.end();
    const initDb = await c.changeUser({ database: 'mysql' }).catch((e) => e);
    // COM_CHANGE_USER re-authenticates; a database outside the grant is refused like at login
    expect(initDb.errno).toBe(1044);
    expect(initDb.message).toMatch(/to database 'mysql' \(dbwarden: this grant covers /);
    const other = await connect({ database: 'mysql' }).catch((e) => e);
    expect(other.errno).toBe(1044);
    await c.end().catch(() => undefined);
  });

  it('answers COM_PING, COM_STATISTICS-style commands and COM_RESET_CONNECTION', async () => {
    const c = await connect();
    await c.ping();
    await c.query('SET @x = 5');
    await c.reset();
    const [r] = await c.query('SELECT @x AS x');
    expect(r).toEqual([{ x: null }]);
    await c.end();
  });

  it('follows sql_mode changes with a query of its own that the client never sees', async () => {
    const c = await connect({ multipleStatements: true });
    await c.query("SET SESSION sql_mode = 'ANSI_QUOTES'");
    // under ANSI_QUOTES "id" is a column, not a string: the session reads as the server does
    const [rows] = await c.query('SELECT "id" FROM relay_t WHERE id = 1');
    expect(rows).toEqual([{ id: 1 }]);
    const [pipelined] = await c.query("SET SESSION sql_mode = ''; SELECT \"id\" AS s FROM relay_t WHERE id = 1");
    expect((pipelined as unknown[])[1]).toEqual([{ s: 'id' }]);
    expect((await c.query('SELECT @@SESSION.sql_mode AS m'))[0]).toEqual([{ m: '' }]);
    await c.end();
  });

  it('carries packets of 16 MiB and more both ways', async () => {
    const c = await connect({ maxPreparedStatements: 4 });
    const big = 'x'.repeat(17 * 1024 * 1024);
    // client → upstream: a COM_QUERY of more than 16 MiB (split into two packets; the bulk is a comment, which
    // the SQL reader skips quickly) and a 17 MiB execute parameter
    const [r1] = await c.query(`SELECT 42 AS n /* ${big} */`);
    expect(r1).toEqual([{ n: 42 }]);
    await c.execute('INSERT INTO relay_t VALUES (?, ?) ON DUPLICATE KEY UPDATE v = VALUES(v)', [99, big]);
    // upstream → client: a 17 MiB row, text and binary
    const [r2] = await c.query('SELECT v FROM relay_t WHERE id = 99');
    expect((r2 as { v: string }[])[0]!.v.length).toBe(big.length);
    const [r3] = await c.execute('SELECT v, LENGTH(v) AS n FROM relay_t WHERE id = ?', [99]);
    expect((r3 as { n: number }[])[0]!.n).toBe(big.length);
    await c.query('DELETE FROM relay_t WHERE id = 99');
    await c.end();
  }, 60_000);

  it('streams a large result row by row', async () => {
    const c = mysqlCb.createConnection({ host: '127.0.0.1', port: b.myPort, user: cred.login, password: cred.password, database: 'dbw_my' });
    let count = 0;
    await new Promise<void>((resolve, reject) => {
      c.query('SELECT seq, MD5(seq) FROM seq_1_to_200000').stream()
        .on('data', () => void count++)
        .on('end', () => resolve())
        .on('error', reject);
    });
    expect(count).toBe(200_000);
    await new Promise((r) => c.end(r));
  });

  it('refuses a wrong password, an unknown login and an expired grant with the same ERR 1045', async () => {
    const wrong = await mysql.createConnection({ host: '127.0.0.1', port: b.myPort, user: cred.login, password: 'wrong' }).catch((e) => e);
    expect(wrong.errno).toBe(1045);
    expect(wrong.sqlState).toBe('28000');
    expect(wrong.message).toBe(`Access denied for user '${cred.login}'@'127.0.0.1' (using password: YES)`);
    const unknown = await mysql.createConnection({ host: '127.0.0.1', port: b.myPort, user: 'nobody_abcdef', password: 'x' }).catch((e) => e);
    expect(unknown.errno).toBe(1045);
    expect(unknown.message).toBe(`Access denied for user 'nobody_abcdef'@'127.0.0.1' (using password: YES)`);
    const g = await b.grant({ access: 'read', ttl: '1s' });
    await new Promise((r) => setTimeout(r, 1300));
    const expired = await mysql.createConnection({ host: '127.0.0.1', port: b.myPort, user: g.login, password: g.password }).catch((e) => e);
    expect(expired.errno).toBe(1045);
  });
});
