// Row guard (safe-defaults max-rows, limit 1,000) through more drivers: pgjdbc batches (prepared and plain,
// autocommit and in a transaction), node pg in pipeline mode, psycopg2 and PyMySQL in autocommit and inside
// transactions, mysql2 execute in and out of transactions. Under the limit every driver sees exactly what it sees
// on a direct connection; over it the write is refused and the table (checked directly) is unchanged.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminSql, startTestBroker, type TestBroker } from '../helpers/broker.js';
import { MY_ROLES, myAdmin, startMysqlTestBroker, type MysqlTestBroker } from '../helpers/mysql.js';

const run = promisify(execFile);
const S = randomBytes(3).toString('hex');
const MSG = (kind: string, n: number) => `dbwarden: blocked by rule max-rows: this ${kind} would change ${n.toLocaleString('en-US')} rows (limit 1,000); nothing was changed`;
const JAR = process.env.PGJDBC_JAR ?? '/usr/share/java/postgresql.jar';
const DIRECT_PG = 'postgresql://dbw_rw:dbw_rw_secret@127.0.0.1:5432/dbw_app?sslmode=disable';

describe('PostgreSQL drivers', () => {
  let b: TestBroker;
  let cred: Awaited<ReturnType<TestBroker['grant']>>;
  const tables = [`rgd_${S}_a`, `rgd_${S}_b`];
  const fresh = () => adminSql(tables.map((t) => `drop table if exists ${t}; create table ${t} (id int primary key, v int not null default 0);
    insert into ${t} select g, 0 from generate_series(1, 3000) g; alter table ${t} owner to dbw_rw; analyze ${t};`).join('\n'));
  const state = async (t: string) => ((await adminSql(`select count(*)::int n, coalesce(sum(v),0)::int s from ${t}`)) as pg.QueryResult).rows[0] as { n: number; s: number };

  beforeAll(async () => {
    b = await startTestBroker();
    cred = await b.grant({ access: 'write' });
  });
  afterAll(async () => {
    await adminSql(tables.map((t) => `drop table if exists ${t};`).join(' '));
    await b?.close();
  });

  it('pgjdbc batches: under the limit the same counts as direct; over it refused with nothing kept, autocommit and in a transaction', async () => {
    if (!existsSync(JAR)) throw new Error(`pgjdbc not found at ${JAR}`);
    await fresh();
    const java = async (url: string, user: string, password: string, table: string) => {
      const r = await run('java', ['-cp', JAR, resolve('test/fixtures/clients/JdbcRowGuard.java'), url, user, password, table], { timeout: 200_000 });
      return JSON.parse(r.stdout) as Record<string, any>;
    };
    const viaBroker = await java(`jdbc:postgresql://127.0.0.1:${b.pgPort}/dbw_app?sslmode=disable`, cred.login, cred.password, tables[0]!);
    const direct = await java('jdbc:postgresql://127.0.0.1:5432/dbw_app?sslmode=disable', 'dbw_rw', 'dbw_rw_secret', tables[1]!);
    // under the limit: what pgjdbc reports is what it reports on a direct connection
    // (the direct run's over-limit batches change its table, so only the batches before them compare)
    for (const k of ['autoUnder', 'plainUnder']) expect(viaBroker[k], k).toEqual(direct[k]);
    expect(viaBroker.autoUnder).toEqual({ counts: [5, 50, 7] });
    // autocommit off: pgjdbc sends BEGIN in the same Sync unit as the first write; it runs first, the write is guarded
    expect(viaBroker.txUnder).toEqual({ counts: [5, 50, 7] });
    // over the limit: the whole batch is refused (one implicit transaction), nothing of it stays
    expect(viaBroker.autoOver).toEqual({ state: '42501', error: 'ERROR: ' + MSG('UPDATE', 3000) });
    expect(viaBroker.afterAuto).toEqual([3000, 62]);
    expect(viaBroker.plainOver).toEqual({ state: '42501' });
    expect(viaBroker.afterPlain).toEqual([2990, 69]);
    expect(viaBroker.txOver).toEqual({ state: '42501', error: 'ERROR: ' + MSG('UPDATE', 2990) });
    // inside a transaction the refusal leaves it aborted, exactly as a server error would
    expect(viaBroker.afterOverInTx).toBe('25P02');
    expect(viaBroker.end).toEqual([2990, 131]);
    expect(await state(tables[0]!)).toEqual({ n: 2990, s: 131 });
  }, 420_000); // two JVMs compiling a source file: minutes on a loaded 2-core machine

  it('node pg in pipeline mode: the same messages as direct under the limit; a refused write in the pipeline fails alone', async () => {
    await fresh();
    const script = (t: string) => [
      `update ${t} set v = 1 where id <= 3 returning id, v`,
      { text: `delete from ${t} where id = $1 returning id`, values: [2999] },
      'begin',
      `update ${t} set v = v + 1 where id <= 20`,
      'commit',
      `update ${t} set v = v + 1 where id <= 2`,
    ];
    const runPipeline = async (url: string, t: string, extra: Array<string | { text: string; values: unknown[] }> = []) => {
      const c = new pg.Client({ connectionString: url, pipeline: true } as pg.ClientConfig);
      c.on('error', () => undefined);
      await c.connect();
      const seen: string[] = [];
      (c as unknown as { connection: NodeJS.EventEmitter }).connection.on('message', (m: { name: string; [k: string]: unknown }) => {
        const { name, length, ...rest } = m;
        if (name === 'parameterStatus' || name === 'notice') return;
        // the two runs use two tables: their OIDs differ, nothing else may
        seen.push(`${name} ${JSON.stringify(rest, (k, v) => (k === 'line' || k === 'routine' || k === 'file' || k === 'tableID' ? undefined : v))}`);
      });
      // every query is written before the first answer arrives
      const results = await Promise.allSettled([...script(t), ...extra].map((q) => c.query(q as string)));
      await c.end();
      return { seen, results: results.map((r) => (r.status === 'fulfilled' ? `${r.value.command} ${r.value.rowCount}` : `error ${(r.reason as { code?: string }).code}`)) };
    };
    const direct = await runPipeline(DIRECT_PG, tables[1]!);
    const viaBroker = await runPipeline(b.url(cred), tables[0]!);
    expect(viaBroker.seen.length).toBeGreaterThan(10);
    expect(viaBroker.seen).toEqual(direct.seen);
    expect(viaBroker.results).toEqual(direct.results);
    expect(await state(tables[0]!)).toEqual(await state(tables[1]!));
    // over the limit inside a pipeline: only that query fails; the ones around it run (the script's DELETE of
    // id 2999 finds nothing the second time)
    const before = await state(tables[0]!);
    const over = await runPipeline(b.url(cred), tables[0]!, [`delete from ${tables[0]} where id > 0`, `update ${tables[0]} set v = v + 1 where id = 1`]);
    expect(over.results.slice(-2)).toEqual(['error 42501', 'UPDATE 1']);
    expect((await state(tables[0]!)).n).toBe(before.n); // the refused DELETE removed nothing
  }, 60_000);

  it('psycopg2 autocommit and in a transaction: the same answers as direct under the limit, refused over it', async () => {
    await fresh();
    const py = (t: string) => `
import psycopg2, sys, json
out = {}
c = psycopg2.connect(sys.argv[1])
c.autocommit = True
cur = c.cursor()
cur.execute("update ${t} set v = v + 1 where id <= %s returning id, v", (4,))
out["auto"] = [cur.rowcount, cur.statusmessage, cur.fetchall()]
try:
    cur.execute("delete from ${t} where id > %s", (int(sys.argv[2]),))
    out["autoOver"] = cur.statusmessage
except psycopg2.Error as e:
    out["autoOver"] = e.pgcode
out["statusAfterAuto"] = c.get_transaction_status()
c.autocommit = False
cur.execute("update ${t} set v = v + 1 where id <= %s", (10,))
out["tx"] = [cur.rowcount, cur.statusmessage, c.get_transaction_status()]
try:
    cur.execute("update ${t} set v = v + 1 where id > %s", (int(sys.argv[2]),))
    out["txOver"] = cur.statusmessage
except psycopg2.Error as e:
    out["txOver"] = [e.pgcode, c.get_transaction_status()]
c.rollback()
cur.execute("delete from ${t} where id > %s", (2995,))
out["txDelete"] = [cur.rowcount, cur.statusmessage]
c.commit()
print(json.dumps(out))
`;
    // the direct run gets a threshold that changes as few rows as the broker lets through, so both agree
    const direct = JSON.parse((await run('/usr/bin/python3', ['-c', py(tables[1]!), DIRECT_PG, '3000'])).stdout);
    const viaBroker = JSON.parse((await run('/usr/bin/python3', ['-c', py(tables[0]!), b.url(cred), '0'])).stdout);
    for (const k of ['auto', 'statusAfterAuto', 'tx', 'txDelete']) expect(viaBroker[k], k).toEqual(direct[k]);
    expect(viaBroker.auto[0]).toBe(4);
    expect(viaBroker.autoOver).toBe('42501');
    // in a transaction the refusal aborts it (status 3: INERROR), as a server error would
    expect(viaBroker.txOver).toEqual(['42501', 3]);
    expect(await state(tables[0]!)).toEqual({ n: 2995, s: 4 });
  }, 60_000);
});

describe('MySQL drivers', () => {
  let b: MysqlTestBroker;
  let cred: Awaited<ReturnType<MysqlTestBroker['grant']>>;
  const tables = [`rgd_${S}_ma`, `rgd_${S}_mb`];
  const fresh = () => myAdmin(tables.map((t) => `DROP TABLE IF EXISTS dbw_my.${t}; CREATE TABLE dbw_my.${t} (id INT PRIMARY KEY, v INT NOT NULL DEFAULT 0) ENGINE=InnoDB;
    INSERT INTO dbw_my.${t} (id) SELECT seq FROM dbw_my.seq_1_to_3000;`).join('\n'));
  const state = async (t: string) => {
    const c = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', database: 'dbw_my' });
    const [rows] = await c.query(`SELECT COUNT(*) n, COALESCE(SUM(v), 0) s FROM ${t}`);
    await c.end();
    const r = (rows as { n: number; s: string }[])[0]!;
    return { n: Number(r.n), s: Number(r.s) };
  };

  beforeAll(async () => {
    b = await startMysqlTestBroker();
    cred = await b.grant({ access: 'write', databases: ['dbw_my'] });
  });
  afterAll(async () => {
    await myAdmin(tables.map((t) => `DROP TABLE IF EXISTS dbw_my.${t};`).join(' ')).catch(() => undefined);
    await b?.close();
  });

  it('mysql2 execute (binary protocol) in and out of transactions: the same OK packets as direct under the limit', async () => {
    await fresh();
    const session = async (port: number, user: string, password: string, t: string, overFrom: number) => {
      const c = await mysql.createConnection({ host: '127.0.0.1', port, user, password, database: 'dbw_my' });
      const out: Record<string, unknown> = {};
      const ok = (r: unknown) => { const h = r as mysql.ResultSetHeader; return [h.affectedRows, h.insertId, h.info, h.serverStatus, h.warningStatus, h.changedRows]; };
      out.auto = ok((await c.execute(`UPDATE ${t} SET v = v + 1 WHERE id <= ?`, [6]))[0]);
      out.autoOver = await c.execute(`DELETE FROM ${t} WHERE id > ?`, [overFrom]).then((r) => ok(r[0]), (e) => [e.errno, e.sqlState]);
      await c.query('START TRANSACTION');
      out.tx = ok((await c.execute(`UPDATE ${t} SET v = v + 1 WHERE id <= ?`, [9]))[0]);
      out.txOver = await c.execute(`UPDATE ${t} SET v = v + 1 WHERE id > ?`, [overFrom]).then((r) => ok(r[0]), (e) => [e.errno, e.sqlState]);
      // MySQL keeps the transaction open after a statement error; so does the guard
      out.txAfter = ok((await c.execute(`DELETE FROM ${t} WHERE id > ?`, [2996]))[0]);
      await c.query('COMMIT');
      await c.end();
      return out;
    };
    const direct = await session(3306, MY_ROLES.rw.user, MY_ROLES.rw.password, tables[1]!, 3000);
    const viaBroker = await session(b.myPort, cred.login, cred.password, tables[0]!, 0);
    for (const k of ['auto', 'tx', 'txAfter']) expect(viaBroker[k], k).toEqual(direct[k]);
    expect((viaBroker.auto as number[])[0]).toBe(6);
    expect(viaBroker.autoOver).toEqual([1227, '42000']);
    expect(viaBroker.txOver).toEqual([1227, '42000']);
    expect(await state(tables[0]!)).toEqual({ n: 2996, s: 15 });
  }, 60_000);

  it('PyMySQL autocommit and in a transaction: the same answers as direct under the limit, refused over it', async () => {
    await fresh();
    const py = (port: number, user: string, password: string, t: string, over: number) => `
import pymysql, json
out = {}
c = pymysql.connect(host='127.0.0.1', port=${port}, user='${user}', password='${password}', database='dbw_my', autocommit=True)
cur = c.cursor()
out["auto"] = [cur.execute("UPDATE ${t} SET v = v + 1 WHERE id <= %s", (5,)), c.affected_rows()]
try:
    out["autoOver"] = cur.execute("DELETE FROM ${t} WHERE id > %s", (${over},))
except pymysql.err.MySQLError as e:
    out["autoOver"] = e.args[0]
c.autocommit(False)
c.begin()
out["tx"] = cur.execute("UPDATE ${t} SET v = v + 1 WHERE id <= %s", (8,))
try:
    out["txOver"] = cur.execute("UPDATE ${t} SET v = v + 1 WHERE id > %s", (${over},))
except pymysql.err.MySQLError as e:
    out["txOver"] = e.args[0]
out["txAfter"] = cur.execute("DELETE FROM ${t} WHERE id > %s", (2990,))
c.commit()
print(json.dumps(out))
`;
    const py3 = process.env.PYMYSQL_PYTHON ?? '/usr/bin/python3';
    const direct = JSON.parse((await run(py3, ['-c', py(3306, MY_ROLES.rw.user, MY_ROLES.rw.password, tables[1]!, 3000)])).stdout);
    const viaBroker = JSON.parse((await run(py3, ['-c', py(b.myPort, cred.login, cred.password, tables[0]!, 0)])).stdout);
    for (const k of ['auto', 'tx', 'txAfter']) expect(viaBroker[k], k).toEqual(direct[k]);
    expect(viaBroker.autoOver).toBe(1227);
    expect(viaBroker.txOver).toBe(1227);
    expect(await state(tables[0]!)).toEqual({ n: 2990, s: 13 });
  }, 60_000);
});
