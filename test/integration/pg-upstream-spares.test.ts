// Spare upstream connections (targets.<name>.upstreamSpares, issue 15's connect row) on the real server: a login
// gets a backend opened ahead that never ran a statement; nothing of an earlier session reaches a later one; a
// spare is keyed by every start-up parameter; a spare the server ends while it waits is never handed out; an idle
// spare is closed after upstreamSpareIdle.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminSql, startTestBroker, testConfigObject, type TestBroker } from '../helpers/broker.js';

let b: TestBroker;
const tag = `dbw_spare_${randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  const base = testConfigObject('unused') as { targets: { app: Record<string, unknown> } };
  b = await startTestBroker({ targets: { app: { ...base.targets.app, upstreamSpares: 1, upstreamSpareIdle: '8s' } } });
});
afterAll(async () => {
  await b?.close();
});

async function login(cred: { login: string; password: string }, app: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: b.url(cred), application_name: app });
  await c.connect();
  return c;
}

const pidOf = async (c: pg.Client) => Number((await c.query('select pg_backend_pid() as p')).rows[0].p);

/** Idle upstream backends carrying this application_name that are not in `except` (the spares). */
async function idleBackends(app: string, except: number[] = []): Promise<number[]> {
  const r = (await adminSql(
    `select pid from pg_stat_activity where application_name = '${app}' and state = 'idle' and backend_type = 'client backend'`,
    'postgres',
  )) as pg.QueryResult;
  return r.rows.map((x) => Number(x.pid)).filter((p) => !except.includes(p));
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A write grant's first login with application_name `<tag>_<suffix>`, and the spare opened after it. */
async function firstLogin(suffix: string): Promise<{ g: { login: string; password: string }; app: string; first: pg.Client; firstPid: number; spare: number }> {
  const g = await b.grant({ access: 'write' });
  const app = `${tag}_${suffix}`;
  const first = await login(g, app);
  const firstPid = await pidOf(first);
  const [spare] = await until('a spare', async () => {
    const pids = await idleBackends(app, [firstPid]);
    return pids.length ? pids : undefined;
  });
  return { g, app, first, firstPid, spare: spare! };
}


describe('spare upstream connections (PostgreSQL)', () => {
  it('the next login gets the spare opened after the last one, and nothing of the earlier session', async () => {
    // the spare opened after the first login waits beside it
    const { g, app, first, firstPid, spare } = await firstLogin('a');
    await first.query(`set work_mem = '7MB'`);
    await first.query('create temp table spare_probe (x int)');
    await first.query('select pg_advisory_lock(4242)');
    await first.end();

    const second = await login(g, app);
    const secondPid = await pidOf(second);
    expect(secondPid).toBe(spare);
    expect(secondPid).not.toBe(firstPid);
    expect((await second.query('show work_mem')).rows[0].work_mem).not.toBe('7MB');
    expect((await second.query(`select to_regclass('pg_temp.spare_probe') as t`)).rows[0].t).toBeNull();
    // the first session's backend is gone with it (the broker ends it after the client), so its lock is free
    await until('the first backend to end', async () => ((await idleBackends(app)).includes(firstPid) ? undefined : true));
    expect((await second.query('select pg_try_advisory_lock(4242) as ok')).rows[0].ok).toBe(true);
    expect((await second.query('show application_name')).rows[0].application_name).toBe(app);
    // the operator sees which logins a spare served
    const metrics = await (await fetch(`${b.admin.url}/metrics`)).text();
    expect(Number(/dbwarden_upstream_spare_logins_total\{target="app",upstream="spare"\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
    expect(Number(/dbwarden_upstream_spare_logins_total\{target="app",upstream="fresh"\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
    await second.end();
  });

  it('a spare serves only logins with the same start-up parameters', async () => {
    const { g, app, first, firstPid, spare } = await firstLogin('b');
    const other = await login(g, `${tag}_other`);
    expect(await pidOf(other)).not.toBe(spare);
    expect((await other.query('show application_name')).rows[0].application_name).toBe(`${tag}_other`);
    // a read grant maps to another upstream role: not that spare either
    const r = await b.grant({ access: 'read' });
    const reader = await login(r, app);
    expect(await pidOf(reader)).not.toBe(spare);
    expect((await reader.query('select current_user as u')).rows[0].u).toBe('dbw_ro');
    expect(await idleBackends(app, [firstPid])).toContain(spare);
    await Promise.all([first.end(), other.end(), reader.end()]);
    // four spares now wait (this file's logins so far): the target's cap (4 × upstreamSpares); let them close (8 s)
    await until('this file\'s spares to close', async () => {
      const r = (await adminSql(`select count(*)::int as n from pg_stat_activity where application_name like '${tag}%'`, 'postgres')) as pg.QueryResult;
      return r.rows[0].n === 0 ? true : undefined;
    }, 30_000);
  }, 60_000);

  it('a spare the server ends while it waits is not handed out; the login connects afresh', async () => {
    const { g, app, first, firstPid, spare } = await firstLogin('c');
    await adminSql(`select pg_terminate_backend(${spare})`, 'postgres');
    await until('the spare to end', async () => ((await idleBackends(app)).includes(spare) ? undefined : true));
    await new Promise((r) => setTimeout(r, 100));
    const second = await login(g, app);
    const pid = await pidOf(second);
    expect(pid).not.toBe(spare);
    expect((await second.query('select 1 as one')).rows[0].one).toBe(1);
    await Promise.all([first.end(), second.end()]);
  });

  it('an unused spare is closed after upstreamSpareIdle', async () => {
    const { app, first } = await firstLogin('d');
    await first.end();
    // 8 s idle limit: gone within some seconds more, and no spare is opened in its place
    await until('the idle spare to close', async () => ((await idleBackends(app)).length === 0 ? true : undefined), 30_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(await idleBackends(app)).toEqual([]);
  }, 60_000);
});
