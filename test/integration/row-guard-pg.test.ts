// Blast-radius guard (maxRows) on PostgreSQL through real clients: node pg (simple, extended, message streams
// compared with a direct connection), psql; tables checked on a direct connection; audit rows/outcome/duration.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminSql, startTestBroker, type TestBroker } from '../helpers/broker.js';

const T = `rowguard_${randomBytes(4).toString('hex')}`;
const LOG = `${T}_log`;
let b: TestBroker;
let cred: Awaited<ReturnType<TestBroker['grant']>>;

async function count(where = 'true'): Promise<number> {
  const r = (await adminSql(`select count(*)::int as n from ${T} where ${where}`)) as pg.QueryResult;
  return r.rows[0].n;
}
async function sumV(): Promise<number> {
  const r = (await adminSql(`select coalesce(sum(v),0)::int as s from ${T}`)) as pg.QueryResult;
  return r.rows[0].s;
}
async function logCount(): Promise<number> {
  const r = (await adminSql(`select count(*)::int as n from ${LOG}`)) as pg.QueryResult;
  return r.rows[0].n;
}

beforeAll(async () => {
  b = await startTestBroker();
  cred = await b.grant({ access: 'write' });
  await adminSql(`create table ${T} (id int primary key, v int not null default 0);
    insert into ${T} select g, 0 from generate_series(1, 3000) g;
    create table ${LOG} (id int, op text);
    create function ${T}_trg() returns trigger language plpgsql as $$ begin insert into ${LOG} values (old.id, tg_op); return null; end $$;
    create trigger ${T}_t after update or delete on ${T} for each row execute function ${T}_trg();
    alter table ${T} owner to dbw_rw; alter table ${LOG} owner to dbw_rw; analyze ${T};`);
});
afterAll(async () => {
  await adminSql(`drop table if exists ${T}; drop table if exists ${LOG}; drop function if exists ${T}_trg()`);
  await b?.close();
});

async function client(url = b.url(cred)): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

const MSG = (kind: string, n: number) => `dbwarden: blocked by rule max-rows: this ${kind} would change ${n.toLocaleString('en-US')} rows (limit 1,000); nothing was changed`;

describe('maxRows through node pg', () => {
  it('autocommit: over the limit nothing changes (triggers too) and the client gets the count', async () => {
    const c = await client();
    const logBefore = await logCount();
    const err = await c.query(`delete from ${T} where id > 0`).catch((e) => e);
    expect(err.code).toBe('42501');
    expect(err.message).toBe(MSG('DELETE', 3000));
    const err2 = await c.query(`update ${T} set v = v + 1 where id in (select id from ${T} where id > 0)`).catch((e) => e);
    expect(err2.message).toBe(MSG('UPDATE', 3000));
    expect(await count()).toBe(3000);
    expect(await sumV()).toBe(0);
    expect(await logCount()).toBe(logBefore);
    // the session is idle and usable: the next statement commits on its own
    const ok = await c.query(`update ${T} set v = 1 where id <= 10`);
    expect(ok.rowCount).toBe(10);
    await c.end();
    expect(await sumV()).toBe(10);
    await adminSql(`update ${T} set v = 0; truncate ${LOG}`);
  });

  it('extended protocol: over the limit refused, under it committed with RETURNING rows', async () => {
    const c = await client();
    const err = await c.query({ text: `delete from ${T} where id > $1`, values: [0] }).catch((e) => e);
    expect(err.code).toBe('42501');
    expect(err.message).toBe(MSG('DELETE', 3000));
    expect(await count()).toBe(3000);
    const r = await c.query({ text: `update ${T} set v = $1 where id <= $2 returning id`, values: [2, 5] });
    expect(r.rowCount).toBe(5);
    expect(r.rows.map((x) => x.id).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5]);
    expect(await sumV()).toBe(10);
    // a named prepared statement executed twice: the second run is guarded too
    await c.query({ name: 'rg', text: `update ${T} set v = 0 where id <= $1`, values: [5] });
    const e2 = await c.query({ name: 'rg', text: `update ${T} set v = 0 where id <= $1`, values: [2000] }).catch((e) => e);
    expect(e2.message).toBe(MSG('UPDATE', 2000));
    expect(await sumV()).toBe(0);
    await c.end();
  });

  it('inside a transaction: over the limit aborts the transaction like a server error; COMMIT answers ROLLBACK', async () => {
    const c = await client();
    await c.query('begin');
    await c.query(`update ${T} set v = 7 where id <= 3`);
    const err = await c.query(`delete from ${T} where id > 0`).catch((e) => e);
    expect(err.message).toBe(MSG('DELETE', 3000));
    const after = await c.query('select 1').catch((e) => e);
    expect(after.code).toBe('25P02');
    const commit = await c.query('commit');
    expect(commit.command).toBe('ROLLBACK');
    expect(await count()).toBe(3000);
    expect(await sumV()).toBe(0);
    // under the limit inside a transaction: the client's own COMMIT keeps it
    await c.query('begin');
    await c.query(`update ${T} set v = 1 where id <= 4`);
    await c.query({ text: `update ${T} set v = 1 where id between $1 and $2`, values: [5, 6] });
    await c.query('commit');
    expect(await sumV()).toBe(6);
    await adminSql(`update ${T} set v = 0`);
    await c.end();
  });

  it('a multi-statement text with a write over the limit runs none of it', async () => {
    const c = await client();
    const err = await c.query(`update ${T} set v = 9 where id = 1; delete from ${T} where id > 0`).catch((e) => e);
    expect(err.message).toBe(MSG('DELETE', 3000));
    expect(await count()).toBe(3000);
    expect(await sumV()).toBe(0);
    await c.end();
  });

  it('data-modifying CTEs under a row limit are refused (their count is not in the answer)', async () => {
    const c = await client();
    const err = await c.query(`with d as (delete from ${T} where id > 0 returning id) select count(*) from d`).catch((e) => e);
    expect(err.code).toBe('42501');
    expect(err.message).toMatch(/^dbwarden: blocked by rule max-rows: .*inside another statement/);
    expect(await count()).toBe(3000);
    await c.end();
  });

  it('under the limit the client sees the same message stream as on a direct connection', async () => {
    const script: Array<string | { text: string; values: unknown[] }> = [
      `update ${T} set v = 1 where id <= 3 returning id, v`,
      'begin',
      `update ${T} set v = 2 where id <= 2`,
      { text: `delete from ${T} where id = $1 returning id`, values: [2999] },
      'commit',
      { text: `insert into ${T} select g, 0 from generate_series(3001, 3004) g`, values: [] },
      `delete from ${T} where id > 3000`,
      'begin',
      `delete from ${T} where id = 424242`,
      'select 1/0',
      'commit',
      `update ${T} set v = 0`, // unscoped: blocked by another rule, same on both sides after the first message
    ];
    const run = async (url: string) => {
      const c = await client(url);
      const seen: string[] = [];
      (c as unknown as { connection: NodeJS.EventEmitter }).connection.on('message', (m: { name: string; [k: string]: unknown }) => {
        const { name, length, ...rest } = m;
        if (name === 'parameterStatus' || name === 'notice') return;
        seen.push(`${name} ${JSON.stringify(rest, (k, v) => (k === 'line' || k === 'routine' || k === 'file' ? undefined : v))}`);
      });
      for (const q of script.slice(0, -1)) await c.query(q).catch(() => undefined);
      await c.end();
      await adminSql(`update ${T} set v = 0; insert into ${T} values (2999, 0) on conflict do nothing`);
      return seen;
    };
    const direct = await run('postgresql://dbw_rw:dbw_rw_secret@127.0.0.1:5432/dbw_app?sslmode=disable');
    const broker = await run(b.url(cred));
    expect(broker).toEqual(direct);
    expect(direct.some((l) => l.startsWith('readyForQuery {"status":"T"}'))).toBe(true);
    expect(direct.some((l) => l.startsWith('readyForQuery {"status":"E"}'))).toBe(true);
  });

  it('psql: over the limit refused, under it the same output as direct', async () => {
    const run = promisify(execFile);
    const sql = `update ${T} set v = 3 where id <= 2 returning id;\nbegin;\nupdate ${T} set v = 0 where id <= 2;\ncommit;\n`;
    const env = { ...process.env, PGPASSWORD: cred.password, PGCONNECT_TIMEOUT: '10' };
    const psql = (url: string) => run('psql', [url, '-X', '-v', 'ON_ERROR_STOP=0', '-c', sql.split('\n').filter(Boolean).join('\n')], { env });
    // psql -c with several statements sends them as one Query; one per -c runs them separately
    const cmds = sql.split('\n').filter(Boolean).flatMap((q) => ['-c', q]);
    const via = (await run('psql', [b.url(cred), '-X', ...cmds], { env })).stdout;
    const direct = (await run('psql', ['postgresql://dbw_rw:dbw_rw_secret@127.0.0.1:5432/dbw_app?sslmode=disable', '-X', ...cmds])).stdout;
    expect(via).toBe(direct);
    expect(via).toContain('UPDATE 2');
    void psql;
    const err = await run('psql', [b.url(cred), '-X', '-v', 'ON_ERROR_STOP=1', '-c', `delete from ${T} where id > 100`], { env }).catch((e) => e);
    expect(String(err.stderr)).toContain(MSG('DELETE', 2900));
    expect(await count()).toBe(3000);
  });

  it('psycopg2 (transactions by default): refused over the limit, committed under it', async () => {
    const py = `
import psycopg2, sys
c = psycopg2.connect(sys.argv[1])
cur = c.cursor()
cur.execute("update ${T} set v = 1 where id <= %s", (3,))
print("updated", cur.rowcount)
try:
    cur.execute("delete from ${T} where id > %s", (0,))
except psycopg2.Error as e:
    print("error", e.pgcode, e.pgerror.strip().splitlines()[0])
c.rollback()
cur.execute("update ${T} set v = 2 where id <= %s", (4,))
c.commit()
print("status", c.get_transaction_status())
`;
    const out = (await promisify(execFile)('/usr/bin/python3', ['-c', py, b.url(cred)])).stdout;
    expect(out).toContain('updated 3');
    expect(out).toContain(`error 42501 ERROR:  ${MSG('DELETE', 3000)}`);
    expect(await sumV()).toBe(8);
    expect(await count()).toBe(3000);
    await adminSql(`update ${T} set v = 0`);
  });

  it('audit: rows, outcome and duration for forwarded, refused and server-error statements', async () => {
    const c = await client();
    await c.query(`update ${T} set v = 0 where id <= 12`);
    await c.query(`delete from ${T} where id > 10`).catch(() => undefined);
    await c.query('select * from no_such_table_rowguard').catch(() => undefined);
    await c.end();
    await new Promise((r) => setTimeout(r, 200));
    const lines = readFileSync(join(b.stateDir, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const st = lines.filter((l) => l.type === 'statement');
    const upd = st.find((l) => l.text === `update ${T} set v = 0 where id <= 12`);
    expect(upd).toMatchObject({ outcome: 'forwarded', rows: 12, action: 'allow' });
    expect(typeof upd.duration_ms).toBe('number');
    const del = st.find((l) => l.text === `delete from ${T} where id > 10`);
    expect(del).toMatchObject({ outcome: 'refused', action: 'block', refusedBy: 'max-rows', wouldChange: 2990, limit: 1000, rows: 0 });
    const bad = st.find((l) => l.text === 'select * from no_such_table_rowguard');
    expect(bad).toMatchObject({ outcome: 'server_error', error: '42P01' });
    const metrics = await (await fetch(`${b.admin.url}/metrics`)).text();
    expect(metrics).toMatch(/dbwarden_row_limit_refusals_total\{target="app",rule="max-rows"\} [1-9]/);
    expect(metrics).toMatch(/dbwarden_rows_written_total\{protocol="postgres",target="app"\} [1-9]/);
  });
});
