// Blast-radius guard (maxRows) on MariaDB through real clients: mysql2 query/execute (answers compared with a
// direct connection), the mariadb CLI, PyMySQL; InnoDB rolled back, MyISAM refused unless small; audit rows.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { myAdmin, startMysqlTestBroker, type MysqlTestBroker } from '../helpers/mysql.js';

const run = promisify(execFile);
const T = `rowguard_${randomBytes(4).toString('hex')}`;
const M = `${T}_myisam`;
const S = `${T}_small`;
const LOG = `${T}_log`;
let b: MysqlTestBroker;
let cred: Awaited<ReturnType<MysqlTestBroker['grant']>>;

const MSG = (kind: string, n: number) => `dbwarden: blocked by rule max-rows: this ${kind} would change ${n.toLocaleString('en-US')} rows (limit 1,000); nothing was changed`;
// a DELETE on T also writes one LOG row per deleted row (its trigger): those count too
const MSG_T = (n: number) => `${MSG('DELETE', 2 * n)} (${n.toLocaleString('en-US')} in the statement's own count; the rest by triggers or stored functions)`;

async function direct(): Promise<mysql.Connection> {
  return mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', database: 'dbw_my' });
}
async function scalar(sql: string): Promise<number> {
  const c = await direct();
  const [rows] = await c.query(sql);
  await c.end();
  return Number(Object.values((rows as Record<string, unknown>[])[0]!)[0]);
}

beforeAll(async () => {
  b = await startMysqlTestBroker();
  cred = await b.grant({ access: 'write', databases: ['dbw_my'] });
  await myAdmin(`
    CREATE TABLE dbw_my.${T} (id INT PRIMARY KEY, v INT NOT NULL DEFAULT 0) ENGINE=InnoDB;
    INSERT INTO dbw_my.${T} (id) SELECT seq FROM dbw_my.seq_1_to_3000;
    CREATE TABLE dbw_my.${LOG} (id INT, op VARCHAR(10)) ENGINE=InnoDB;
    CREATE TRIGGER dbw_my.${T}_t AFTER DELETE ON dbw_my.${T} FOR EACH ROW INSERT INTO dbw_my.${LOG} VALUES (OLD.id, 'D');
    CREATE TABLE dbw_my.${M} (id INT PRIMARY KEY, v INT NOT NULL DEFAULT 0) ENGINE=MyISAM;
    INSERT INTO dbw_my.${M} (id) SELECT seq FROM dbw_my.seq_1_to_3000;
    CREATE TABLE dbw_my.${S} (id INT PRIMARY KEY, v INT NOT NULL DEFAULT 0) ENGINE=MyISAM;
    INSERT INTO dbw_my.${S} (id) SELECT seq FROM dbw_my.seq_1_to_20;
  `);
});
afterAll(async () => {
  await myAdmin(`DROP TABLE IF EXISTS dbw_my.${T}, dbw_my.${LOG}, dbw_my.${M}, dbw_my.${S}`).catch(() => undefined);
  await b?.close();
});

function connect(extra: mysql.ConnectionOptions = {}): Promise<mysql.Connection> {
  return mysql.createConnection({ host: '127.0.0.1', port: b.myPort, user: cred.login, password: cred.password, database: 'dbw_my', ...extra });
}

describe('maxRows through mysql2', () => {
  it('autocommit: over the limit nothing changes (trigger effects too); under it the same OK as direct', async () => {
    const c = await connect();
    const err = await c.query(`DELETE FROM ${T} WHERE id > 0`).catch((e) => e);
    expect(err.errno).toBe(1227);
    expect(err.sqlState).toBe('42000');
    expect(err.message).toBe(MSG_T(3000));
    expect(await scalar(`SELECT COUNT(*) FROM ${T}`)).toBe(3000);
    expect(await scalar(`SELECT COUNT(*) FROM ${LOG}`)).toBe(0);
    const e2 = await c.execute(`UPDATE ${T} SET v = v + 1 WHERE id IN (SELECT id FROM (SELECT id FROM ${T}) x) AND id > ?`, [0]).catch((e) => e);
    expect(e2.message).toBe(MSG('UPDATE', 3000));
    expect(await scalar(`SELECT SUM(v) FROM ${T}`)).toBe(0);
    const [ok] = await c.query(`UPDATE ${T} SET v = 1 WHERE id <= 10`);
    const d = await direct();
    const [okDirect] = await d.query(`UPDATE ${T} SET v = 1 WHERE id <= 10`);
    await d.end();
    // same affected/changed rows, info text and status flags (no IN_TRANS from the broker's own transaction)
    expect({ ...(ok as mysql.ResultSetHeader), changedRows: 10 }).toEqual({ ...(okDirect as mysql.ResultSetHeader), changedRows: 10, affectedRows: 10, info: (ok as mysql.ResultSetHeader).info });
    expect((ok as mysql.ResultSetHeader).serverStatus).toBe((okDirect as mysql.ResultSetHeader).serverStatus);
    expect(await scalar(`SELECT SUM(v) FROM ${T}`)).toBe(10);
    const [ex] = await c.execute(`UPDATE ${T} SET v = 0 WHERE id <= ?`, [10]);
    expect((ex as mysql.ResultSetHeader).affectedRows).toBe(10);
    expect(await scalar(`SELECT SUM(v) FROM ${T}`)).toBe(0);
    await c.end();
  });

  it('inside a transaction: over the limit rolls back only that statement, the transaction goes on', async () => {
    const c = await connect();
    await c.query('START TRANSACTION');
    await c.query(`UPDATE ${T} SET v = 5 WHERE id <= 2`);
    const err = await c.query(`DELETE FROM ${T} WHERE id > 0`).catch((e) => e);
    expect(err.message).toBe(MSG_T(3000));
    const [[inTx]] = (await c.query('SELECT @@in_transaction AS t')) as unknown as [[{ t: number }]];
    expect(Number(inTx.t)).toBe(1);
    await c.query('COMMIT');
    expect(await scalar(`SELECT COUNT(*) FROM ${T}`)).toBe(3000);
    expect(await scalar(`SELECT SUM(v) FROM ${T}`)).toBe(10);
    await c.query(`UPDATE ${T} SET v = 0 WHERE id <= 2`);
    await c.end();
  });

  it('MyISAM: refused before running unless the table is within the limit', async () => {
    const c = await connect();
    const err = await c.query(`UPDATE ${M} SET v = 1 WHERE id > 0`).catch((e) => e);
    expect(err.errno).toBe(1227);
    expect(err.message).toMatch(/^dbwarden: blocked by rule max-rows: this UPDATE could change up to 3,000 rows \(limit 1,000\); nothing was changed \(table .* uses MYISAM, which cannot roll back/);
    expect(await scalar(`SELECT SUM(v) FROM ${M}`)).toBe(0);
    const [ok] = await c.query(`UPDATE ${S} SET v = 1 WHERE id > 0`);
    expect((ok as mysql.ResultSetHeader).affectedRows).toBe(20);
    await c.end();
  });

  it('mariadb CLI and PyMySQL: the refusal text and an unchanged table', async () => {
    const cli = await run('mariadb', ['-h', '127.0.0.1', '-P', String(b.myPort), '-u', cred.login, `-p${cred.password}`, 'dbw_my', '-e', `DELETE FROM ${T} WHERE id > 1`]).catch((e) => e);
    expect(String(cli.stderr)).toContain(MSG_T(2999));
    const py = `
import pymysql, sys
c = pymysql.connect(host='127.0.0.1', port=${b.myPort}, user='${cred.login}', password='${cred.password}', database='dbw_my')
cur = c.cursor()
try:
    cur.execute("DELETE FROM ${T} WHERE id > %s", (5,))
    print("no error")
except pymysql.err.OperationalError as e:
    print(e.args[0], e.args[1])
print(cur.execute("UPDATE ${T} SET v = v WHERE id <= %s", (3,)))
c.commit()
`;
    const out = (await run(process.env.PYMYSQL_PYTHON ?? '/usr/bin/python3', ['-c', py])).stdout;
    expect(out).toContain(`1227 ${MSG_T(2995)}`);
    expect(await scalar(`SELECT COUNT(*) FROM ${T}`)).toBe(3000);
  });

  it('concurrent sessions each get their own count', async () => {
    const cs = await Promise.all([connect(), connect(), connect()]);
    const res = await Promise.all(cs.map((c, i) => c.query(i === 0 ? `DELETE FROM ${T} WHERE id > 0` : `UPDATE ${T} SET v = ${i} WHERE id = ${i}`).then(() => 'ok', (e) => e.errno)));
    expect(res).toEqual([1227, 'ok', 'ok']);
    expect(await scalar(`SELECT COUNT(*) FROM ${T}`)).toBe(3000);
    expect(await scalar(`SELECT SUM(v) FROM ${T}`)).toBe(3);
    await Promise.all(cs.map((c) => c.end()));
  });

  it('audit: rows and outcome of forwarded, refused and failed statements', async () => {
    const c = await connect();
    await c.query(`UPDATE ${T} SET v = 0 WHERE id <= 7`);
    const [upd] = await c.query(`UPDATE ${T} SET v = 8 WHERE id <= 7`);
    expect((upd as mysql.ResultSetHeader).affectedRows).toBe(7);
    await c.query(`SELECT * FROM ${T} WHERE id <= 4`);
    await c.query('SELECT * FROM no_such_table_rowguard').catch(() => undefined);
    await c.end();
    await new Promise((r) => setTimeout(r, 200));
    const st = readFileSync(join(b.stateDir, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.type === 'statement');
    expect(st.find((l) => l.text === `UPDATE ${T} SET v = 8 WHERE id <= 7`)).toMatchObject({ outcome: 'forwarded', rows: 7 });
    await myAdmin(`UPDATE dbw_my.${T} SET v = 0`);
    expect(st.find((l) => l.text === `SELECT * FROM ${T} WHERE id <= 4`)).toMatchObject({ outcome: 'forwarded', rows: 4 });
    expect(st.find((l) => l.text === 'SELECT * FROM no_such_table_rowguard')).toMatchObject({ outcome: 'server_error', error: '1146' });
    expect(st.find((l) => l.text === `DELETE FROM ${T} WHERE id > 0`)).toMatchObject({ outcome: 'refused', action: 'block', refusedBy: 'max-rows', wouldChange: 6000, limit: 1000 });
  });
});
