// Parameter values that make a prepared write's condition match every row on MariaDB: `v LIKE ?` with '%',
// `v REGEXP ?` with '' (each deletes every row on the server: proven below on a direct connection). The literal
// forms are refused; the broker reads each COM_STMT_EXECUTE of such a statement and decides it with the values in
// place, while narrowing values and ordinary prepared writes run.
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MY, myAdmin, startMysqlTestBroker, type MysqlTestBroker } from '../helpers/mysql.js';

const T = `dbw_my.bindv_${randomBytes(4).toString('hex')}`;
let b: MysqlTestBroker;
let write: Awaited<ReturnType<MysqlTestBroker['grant']>>;

beforeAll(async () => {
  await myAdmin(`CREATE TABLE ${T} (id INT PRIMARY KEY, v VARCHAR(40))`);
  b = await startMysqlTestBroker({}, { rulesets: ['safe-defaults'] });
  write = await b.grant({ access: 'write' });
}, 60_000);
afterAll(async () => {
  await b?.close();
  await myAdmin(`DROP TABLE IF EXISTS ${T}`);
});

const fill = () => myAdmin(`DELETE FROM ${T}; INSERT INTO ${T} VALUES (1, 'row 1'), (2, 'row 2'), (3, 'row 3'), (4, 'row 4'), (5, 'row 5')`);
const count = async () => Number(((await myAdmin(`SELECT COUNT(*) AS n FROM ${T}`)) as { n: number }[])[0]!.n);

const cases: [string, string, unknown[], unknown[]][] = [
  ['LIKE pattern', `DELETE FROM ${T} WHERE v LIKE ?`, ['%'], ['row 3']],
  ['REGEXP pattern', `DELETE FROM ${T} WHERE v REGEXP ?`, [''], ['^row 3$']],
  ['LIKE in an UPDATE, second parameter', `UPDATE ${T} SET v = ? WHERE v LIKE ?`, ['x', '%%'], ['x', 'row 3']],
  ['parameter reaching the pattern through CONCAT', `DELETE FROM ${T} WHERE v LIKE CONCAT('%', ?)`, [''], [' 3']],
];

describe('prepared writes whose parameter decides what the condition matches (MariaDB)', () => {
  it.each(cases)('%s: the all-rows value changes every row on a direct connection', async (_w, sql, all) => {
    await fill();
    const c = await mysql.createConnection({ ...MY, user: 'root', database: 'dbw_my' });
    try {
      await c.beginTransaction();
      const [r] = await c.execute(sql, all as never[]);
      expect((r as { affectedRows: number }).affectedRows).toBe(5);
      await c.rollback();
    } finally {
      await c.end();
    }
  });

  it.each(cases)('%s: refused through the broker with that value, runs with a narrowing one', async (_w, sql, all, narrow) => {
    await fill();
    const c = await mysql.createConnection({ host: '127.0.0.1', port: b.myPort, user: write.login, password: write.password, database: 'dbw_my' });
    try {
      const e = await c.execute(sql, all as never[]).then(() => undefined, (x) => x);
      expect(e).toBeInstanceOf(Error);
      expect(e.errno).toBe(1227);
      expect(e.message).toMatch(/^dbwarden: blocked by rule unscoped-write/);
      expect(await count()).toBe(5);
      // the same prepared statement (mysql2 caches it) with a narrowing value
      const [ok] = await c.execute(sql, narrow as never[]);
      expect((ok as { affectedRows: number }).affectedRows).toBe(1);
      const [again] = await c.query('SELECT 1 AS n');
      expect(again).toEqual([{ n: 1 }]);
    } finally {
      await c.end();
    }
  });

  it('a value sent ahead with COM_STMT_SEND_LONG_DATA (not in the execution the broker reads) is refused', async () => {
    await fill();
    const c = await mysql.createConnection({ host: '127.0.0.1', port: b.myPort, user: write.login, password: write.password, database: 'dbw_my' });
    try {
      const stmt = await c.prepare(`DELETE FROM ${T} WHERE v LIKE ?`);
      // COM_STMT_SEND_LONG_DATA: statement id, parameter 0, the value '%' (no answer from the server)
      const body = Buffer.concat([Buffer.from([0x18]), Buffer.from(new Uint32Array([(stmt as unknown as { statement: { id: number } }).statement.id]).buffer), Buffer.from([0, 0]), Buffer.from('%')]);
      const head = Buffer.from([body.length & 0xff, (body.length >> 8) & 0xff, body.length >> 16, 0]);
      (c as unknown as { connection: { stream: { write(b: Buffer): void } } }).connection.stream.write(Buffer.concat([head, body]));
      const e = await stmt.execute(['row 3']).then(() => undefined, (x) => x);
      expect(e).toBeInstanceOf(Error);
      expect(e.message).toMatch(/COM_STMT_SEND_LONG_DATA/);
      expect(await count()).toBe(5);
      await stmt.close();
    } finally {
      await c.end();
    }
  });

  it('an ordinary prepared write runs as before', async () => {
    await fill();
    const c = await mysql.createConnection({ host: '127.0.0.1', port: b.myPort, user: write.login, password: write.password, database: 'dbw_my' });
    try {
      const [r] = await c.execute(`UPDATE ${T} SET v = ? WHERE id = ?`, ['y', 2]);
      expect((r as { affectedRows: number }).affectedRows).toBe(1);
    } finally {
      await c.end();
    }
  });
});
