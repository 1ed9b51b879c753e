// Ending MySQL sessions: KILL QUERY from a second connection (what the mysql CLI sends on Ctrl-C) reaches the
// right upstream statement; revoke, kill and expiry end sessions with ERR 1927 within a second and the
// upstream statement is gone from the processlist.
import { spawn } from 'node:child_process';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MY, startMysqlTestBroker, type MysqlTestBroker } from '../helpers/mysql.js';

let b: MysqlTestBroker;

beforeAll(async () => {
  b = await startMysqlTestBroker();
});
afterAll(async () => {
  await b?.close();
});

type Cred = Awaited<ReturnType<MysqlTestBroker['grant']>>;
const connect = (g: Cred) => mysql.createConnection({ host: '127.0.0.1', port: b.myPort, user: g.login, password: g.password, database: 'dbw_my' });

/** Statements running upstream whose text contains `marker`, seen by root directly. */
async function running(marker: string): Promise<number> {
  const c = await mysql.createConnection({ ...MY, user: 'root' });
  try {
    const [rows] = await c.query('SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE ? AND ID <> CONNECTION_ID()', [`%${marker}%`]);
    return Number((rows as { n: number }[])[0]!.n);
  } finally {
    await c.end();
  }
}

async function until(f: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await f()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return f();
}

describe('ending MySQL sessions', () => {
  it('KILL QUERY <broker thread id> on a second connection interrupts that session\'s statement only', async () => {
    const g = await b.grant();
    const busy = await connect(g);
    const bystander = await connect(g);
    const marker = 'dbw_kill_' + Date.now();
    const sleeping = busy.query(`SELECT SLEEP(30) AS s, '${marker}' AS m`);
    const other = bystander.query(`SELECT SLEEP(1.5) AS s, '${marker}_other' AS m`);
    expect(await until(async () => (await running(marker)) === 2, 3000)).toBe(true);
    const killer = await connect(g);
    const t0 = Date.now();
    // the thread id the client saw is the broker's, not the upstream's
    expect(busy.threadId).not.toBe(null);
    await killer.query(`KILL QUERY ${busy.threadId}`);
    const outcome = await sleeping.then(([rows]) => rows, (e) => e);
    expect(Date.now() - t0).toBeLessThan(2000);
    // MariaDB answers ER_QUERY_INTERRUPTED; MySQL lets an interrupted SLEEP() return 1
    if (outcome instanceof Error) expect((outcome as Error & { errno?: number }).errno).toBe(1317);
    else expect(outcome).toEqual([{ s: 1, m: marker }]);
    // the other session's statement ran to its end, and both sessions go on
    const [o] = await other;
    expect((o as { s: number }[])[0]!.s).toBe(0);
    expect((await busy.query('SELECT 7 AS n'))[0]).toEqual([{ n: 7 }]);
    // a thread id of another grant, or none, is unknown
    const stranger = await connect(await b.grant());
    const e = await stranger.query(`KILL QUERY ${busy.threadId}`).catch((x) => x);
    expect(e.errno).toBe(1094);
    await Promise.all([busy.end(), bystander.end(), killer.end(), stranger.end()]);
  });

  it('Ctrl-C in the mariadb CLI kills the running query through the broker', async () => {
    const g = await b.grant();
    const cli = spawn('mariadb', ['-h', '127.0.0.1', '-P', String(b.myPort), '-u', g.login, `-p${g.password}`, '--skip-ssl', 'dbw_my'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    cli.stdout.on('data', (d) => (out += d));
    cli.stderr.on('data', (d) => (out += d));
    const marker = 'dbw_ctrlc_' + Date.now();
    cli.stdin.write(`SELECT SLEEP(20), '${marker}';\n`);
    expect(await until(async () => (await running(marker)) === 1, 5000)).toBe(true);
    const t0 = Date.now();
    cli.kill('SIGINT');
    await new Promise((r) => cli.once('close', r));
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(out).toMatch(/ERROR 1317 \(70100\) at line 1: Query execution was interrupted/);
    expect(out).toMatch(/Ctrl-C -- query killed/);
    expect(await running(marker)).toBe(0);
  });

  it('revoke ends an idle session and one running SELECT SLEEP(60) within a second; the statement is gone upstream', async () => {
    const g = await b.grant();
    const idle = await connect(g);
    const busy = await connect(g);
    const idleErr = new Promise<Error & { errno?: number }>((resolve) => idle.on('error', resolve));
    busy.on('error', () => undefined);
    const marker = 'dbw_revoke_' + Date.now();
    const sleeping = busy.query(`SELECT SLEEP(60), '${marker}'`).catch((e) => e);
    expect(await until(async () => (await running(marker)) === 1, 3000)).toBe(true);
    const t0 = Date.now();
    const res = await b.api(`/v1/grants/${g.grantId}/revoke`);
    expect(res.status).toBe(200);
    const e = await sleeping;
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(e.errno).toBe(1927);
    expect(e.message).toMatch(/^dbwarden: grant revoked/);
    const ie = await idleErr;
    expect(ie.message).toMatch(/dbwarden: grant revoked/);
    expect(await until(async () => (await running(marker)) === 0, 2000)).toBe(true);
    expect(Date.now() - t0).toBeLessThan(2500);
  });

  it('admin kill ends the session with "dbwarden: session killed"', async () => {
    const g = await b.grant();
    const c = await connect(g);
    const err = new Promise<Error & { errno?: number }>((resolve) => c.on('error', resolve));
    const sessions = (await (await fetch(`${b.admin.url}/v1/sessions`, { headers: { authorization: `Bearer ${(await import('../helpers/broker.js')).TOKENS.alice}` } })).json()) as { sessions?: { id: string; grantId: string }[] } | { id: string; grantId: string }[];
    const list = Array.isArray(sessions) ? sessions : sessions.sessions ?? [];
    const mine = list.find((s) => s.grantId === g.grantId);
    expect(mine).toBeDefined();
    expect((await b.api(`/v1/sessions/${mine!.id}/kill`)).status).toBe(200);
    expect((await err).message).toMatch(/^dbwarden: session killed/);
  });

  it('expiry ends the session with ERR 1927 "dbwarden: grant expired"', async () => {
    const g = await b.grant({ access: 'read', ttl: '2s' });
    const c = await connect(g);
    const err = await new Promise<Error & { errno?: number }>((resolve) => c.on('error', resolve));
    expect(err.message).toMatch(/^dbwarden: grant expired/);
  });
});
