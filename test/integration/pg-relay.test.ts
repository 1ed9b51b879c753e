// node-postgres through the broker: queries, pipelining, blocking with the server's own transaction semantics.
import pg from 'pg';
import Cursor from 'pg-cursor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKENS, adminSql, startTestBroker, type TestBroker } from '../helpers/broker.js';

let b: TestBroker;
let cred: Awaited<ReturnType<TestBroker['grant']>>;

beforeAll(async () => {
  b = await startTestBroker();
  cred = await b.grant({ access: 'write' });
  await adminSql('drop table if exists relay_t; create table relay_t (id int primary key, v text); alter table relay_t owner to dbw_rw');
});
afterAll(async () => {
  await b?.close();
});

async function client(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: b.url(cred) });
  await c.connect();
  return c;
}

describe('node-postgres through dbwarden', () => {
  it('runs simple and parameterized queries', async () => {
    const c = await client();
    const r = await c.query('select 1 as one, current_user as who');
    expect(r.rows[0]).toEqual({ one: 1, who: 'dbw_rw' });
    await c.query('insert into relay_t values ($1, $2) on conflict (id) do update set v = excluded.v', [1, 'a']);
    const r2 = await c.query({ text: 'select v from relay_t where id = $1', values: [1] });
    expect(r2.rows).toEqual([{ v: 'a' }]);
    await c.end();
  });

  it('blocks DELETE without WHERE with 42501 and the SPEC message', async () => {
    const c = await client();
    const err = await c.query('delete from relay_t').catch((e) => e);
    expect(err.code).toBe('42501');
    expect(err.message).toMatch(/^dbwarden: blocked by rule unscoped-write: /);
    // the session is usable afterwards
    expect((await c.query('select 2 as n')).rows[0].n).toBe(2);
    await c.end();
  });

  it('a blocked statement inside a transaction aborts it like a server error would', async () => {
    const c = await client();
    await c.query('delete from relay_t where id = 50');
    await c.query('begin');
    await c.query("insert into relay_t values (50, 'tx')");
    const err = await c.query('delete from relay_t').catch((e) => e);
    expect(err.code).toBe('42501');
    const after = await c.query('select 1').catch((e) => e);
    expect(after.code).toBe('25P02'); // current transaction is aborted
    const commit = await c.query('commit');
    expect(commit.command).toBe('ROLLBACK');
    const r = await c.query('select count(*)::int as n from relay_t where id = 50');
    expect(r.rows[0].n).toBe(0);
    await c.end();
  });

  it('nothing of a blocked multi-statement string runs', async () => {
    const c = await client();
    const err = await c.query("insert into relay_t values (60, 'multi'); delete from relay_t").catch((e) => e);
    expect(err.code).toBe('42501');
    const r = await c.query('select count(*)::int as n from relay_t where id = 60');
    expect(r.rows[0].n).toBe(0);
    await c.end();
  });

  it('extended protocol: a blocked Parse fails the pipeline up to Sync and the session continues', async () => {
    const c = await client();
    const err = await c.query({ text: 'delete from relay_t where $1::int = $1::int', values: [1] }).catch((e) => e);
    expect(err.code).toBe('42501');
    const err2 = await c.query({ text: 'drop table relay_t', values: [] }).catch((e) => e);
    expect(err2.code).toBe('42501');
    const ok = await c.query({ text: 'select $1::int + 1 as n', values: [41] });
    expect(ok.rows[0].n).toBe(42);
    await c.end();
  });

  it('pipelines many queries before one Sync', async () => {
    const c = await client();
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => c.query({ text: 'select $1::int as i', values: [i] })));
    expect(results.map((r) => r.rows[0].i)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    await c.end();
  });

  it('streams a large result in batches with pg-cursor', async () => {
    const c = await client();
    const cursor = c.query(new Cursor('select g, md5(g::text) as h from generate_series(1, 50000) g'));
    let total = 0;
    let last = 0;
    for (;;) {
      const rows = (await cursor.read(5000)) as { g: number; h: string }[];
      if (!rows.length) break;
      total += rows.length;
      last = rows[rows.length - 1]!.g;
    }
    await cursor.close();
    expect(total).toBe(50000);
    expect(last).toBe(50000);
    await c.end();
  });

  it('refuses a wrong password, an unknown login and a database the grant does not name', async () => {
    const bad = new pg.Client({ connectionString: b.url({ login: cred.login, password: 'wrong' }) });
    const e1 = await bad.connect().catch((e) => e);
    expect(e1.code).toBe('28P01');
    const unknown = new pg.Client({ connectionString: b.url({ login: 'nobody_abcdef', password: 'x' }) });
    const e2 = await unknown.connect().catch((e) => e);
    expect(e2.code).toBe('28P01');
    expect(e2.message).toBe('password authentication failed for user "nobody_abcdef"');
    const otherDb = new pg.Client({ connectionString: b.url(cred, 'dbw_other') });
    const e3 = await otherDb.connect().catch((e) => e);
    expect(e3.code).toBe('42501');
  });

  it('revoke ends a live idle session and a session running pg_sleep within a second', async () => {
    const g = await b.grant({ access: 'write' });
    const idle = new pg.Client({ connectionString: b.url(g) });
    const busy = new pg.Client({ connectionString: b.url(g) });
    await idle.connect();
    await busy.connect();
    const idleErr = new Promise<Error & { code?: string }>((resolve) => idle.on('error', resolve));
    const appName = 'dbw_sleep_' + Date.now();
    await busy.query(`set application_name = '${appName}'`);
    const sleeping = busy.query('select pg_sleep(60)').catch((e) => e);
    busy.on('error', () => undefined);
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    const res = await fetch(`${b.admin.url}/v1/grants/${g.grantId}/revoke`, { method: 'POST', headers: { authorization: `Bearer ${TOKENS.alice}`, 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(200);
    const e = await sleeping;
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(e.code).toBe('57P01');
    expect(e.message).toMatch(/^dbwarden: grant revoked/);
    const ie = await idleErr;
    expect(ie.message).toMatch(/dbwarden: grant revoked/);
    // the upstream backend is gone too, not orphaned
    const admin = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' });
    await admin.connect();
    let left = 1;
    for (let i = 0; i < 100 && left > 0; i++) {
      left = (await admin.query('select count(*)::int as n from pg_stat_activity where application_name = $1', [appName])).rows[0].n;
      if (left) await new Promise((r) => setTimeout(r, 100));
    }
    await admin.end();
    expect(left).toBe(0);
  });

  it('expiry ends the session with FATAL 57P01 "dbwarden: grant expired"', async () => {
    const g = await b.grant({ access: 'read', ttl: '2s' });
    const c = new pg.Client({ connectionString: b.url(g) });
    await c.connect();
    const err = new Promise<Error & { code?: string }>((resolve) => c.on('error', resolve));
    const e = await err;
    expect(e.message).toMatch(/^dbwarden: grant expired/);
    // and the login is refused from then on
    const again = new pg.Client({ connectionString: b.url(g) });
    const e2 = await again.connect().catch((x) => x);
    expect(e2.code).toBe('28P01');
  });
});
