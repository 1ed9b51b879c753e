// Faults on the MySQL-protocol upstream, on a throwaway MariaDB (own datadir and port): restarts mid-statement
// and mid-transaction with mysql2 and the mariadb CLI, an upstream that is down, and one that accepts TCP and
// never sends its greeting. The client always gets an error packet or a closed connection in time (never a hang or
// a malformed stream), the session's end is audited, and logins work again once the server is back.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKENS } from '../helpers/broker.js';
import { startMysqlTestBroker, type MysqlTestBroker } from '../helpers/mysql.js';
import { startScratchMariadb, type ScratchMariadb } from '../helpers/scratch-mariadb.js';

let db: ScratchMariadb;
let b: MysqlTestBroker;
let silent: Server;
const silentSockets: Socket[] = [];

beforeAll(async () => {
  db = await startScratchMariadb();
  silent = createServer((s) => void silentSockets.push(s));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const silentPort = (silent.address() as { port: number }).port;
  const target = (port: number, extra: Record<string, unknown> = {}) => ({
    protocol: 'mysql', host: '127.0.0.1', port, databases: [db.database], tls: 'disable', rulesets: ['safe-defaults'],
    roles: { read: db.roles.ro, write: db.roles.rw, admin: db.roles.rw },
    ...extra,
  });
  b = await startMysqlTestBroker({ targets: { my: target(db.port), hung: target(silentPort, { connectTimeout: '1500ms' }) } });
}, 90_000);

afterAll(async () => {
  await b?.close();
  for (const s of silentSockets) s.destroy();
  await new Promise((r) => silent?.close(r));
  await db?.close();
});

type Cred = { login: string; password: string };

function connect(cred: Cred): Promise<mysql.Connection> {
  return mysql.createConnection({ host: '127.0.0.1', port: b.myPort, user: cred.login, password: cred.password, database: db.database, connectTimeout: 10_000 });
}

function auditEvents(): { type: string; reason?: string }[] {
  return readFileSync(join(b.stateDir, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

async function waitFor(check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function upstreamRuns(pattern: string): Promise<void> {
  await waitFor(async () => {
    const rows = (await db.sql(`SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE '${pattern}'`)) as { n: number }[];
    return Number(rows[0]!.n) > 0;
  });
}

async function loginWorksAgain(cred: Cred): Promise<void> {
  const until = Date.now() + 20_000;
  for (;;) {
    try {
      const c = await connect(cred);
      const [rows] = await c.query('SELECT 41 + 1 AS n');
      await c.end();
      expect((rows as { n: number }[])[0]!.n).toBe(42);
      return;
    } catch (e) {
      if (Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

const hangs = <T>(p: Promise<T>, ms = 20_000) => Promise.race([p, new Promise<'hang'>((r) => setTimeout(() => r('hang'), ms))]);

describe('MariaDB upstream restarted under a live session', () => {
  it('mid-statement (mysql2): an error, not a hang; the session end is audited; new logins work', async () => {
    const cred = await b.grant({ access: 'write', databases: [db.database] });
    const c = await connect(cred);
    c.on('error', () => undefined);
    const running = c.query('SELECT SLEEP(30)').then(() => null, (e: Error & { code?: string }) => e);
    await upstreamRuns('SELECT SLEEP(30)');
    await db.restart();
    const err = await hangs(running);
    expect(err).not.toBe('hang');
    // a query interrupted by shutdown may return a row (SLEEP returns 1 when killed): then the next query fails
    const failure = err ?? (await hangs(c.query('SELECT 1').then(() => null, (e: Error) => e)));
    expect(failure).not.toBe('hang');
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).not.toMatch(/malformed|out of order/i);
    await waitFor(() => auditEvents().some((e) => e.type === 'session.ended'), 10_000);
    await loginWorksAgain(cred);
  });

  it('mid-result (mysql2 streaming rows, the direction of COPY TO): the stream errors, never hangs or reads garbage', async () => {
    // (the other direction, LOAD DATA LOCAL INFILE, is refused by the broker: docs/client-errors.md)
    const cred = await b.grant({ access: 'write', databases: [db.database] });
    const c = await connect(cred);
    c.on('error', () => undefined);
    let rows = 0;
    // 1 KiB rows, produced slowly, so the server sends them in many packets while the statement runs
    // the callback connection under the promise wrapper streams rows (the promise API buffers them)
    const raw = (c as unknown as { connection: import('mysql2').Connection }).connection;
    const stream = raw.query("SELECT seq, REPEAT('x', 1024) AS pad, SLEEP(0.002) AS s FROM seq_1_to_200000").stream();
    // mysql2 reports a connection lost mid-stream on the connection, not on the row stream (as it does direct)
    const outcome = new Promise<Error | 'end'>((resolve) => {
      stream.on('data', () => void rows++);
      stream.on('error', (e: Error) => resolve(e));
      stream.on('end', () => resolve('end'));
      raw.on('error', (e: Error) => resolve(e));
      raw.on('end', () => resolve(new Error('connection closed')));
    });
    await waitFor(() => rows > 200, 15_000);
    await db.restart();
    const result = await hangs(outcome);
    expect(result).not.toBe('hang');
    expect(result).toBeInstanceOf(Error);
    expect((result as Error).message).not.toMatch(/malformed|out of order/i);
    expect(rows).toBeLessThan(200_000);
    // the session is over: the client cannot send on it
    await expect(c.query('SELECT 1')).rejects.toThrow(/closed state|connection/i);
    await waitFor(() => auditEvents().some((e) => e.type === 'session.ended'), 10_000);
    await loginWorksAgain(cred);
  });

  it('mid-transaction: COMMIT fails and the row is not there', async () => {
    const cred = await b.grant({ access: 'write', databases: [db.database] });
    await db.sql(`CREATE TABLE IF NOT EXISTS ${db.database}.fault_tx (id INT PRIMARY KEY) ENGINE=InnoDB`);
    const c = await connect(cred);
    c.on('error', () => undefined);
    await c.query('BEGIN');
    await c.query('INSERT INTO fault_tx VALUES (1)');
    await db.restart();
    const err = await hangs(c.query('COMMIT').then(() => null, (e: Error) => e));
    expect(err).not.toBe('hang');
    expect(err).toBeInstanceOf(Error);
    const rows = (await db.sql(`SELECT COUNT(*) AS n FROM ${db.database}.fault_tx`)) as { n: number }[];
    expect(Number(rows[0]!.n)).toBe(0);
    await loginWorksAgain(cred);
  });

  it('mid-statement (mariadb CLI): the CLI exits with an error it can print, not "malformed packet"', async () => {
    const cred = await b.grant({ access: 'write', databases: [db.database] });
    const cli = spawn('mariadb', ['-h', '127.0.0.1', '-P', String(b.myPort), '-u', cred.login, db.database, '-e', 'SELECT SLEEP(30); SELECT 2'], {
      env: { ...process.env, MYSQL_PWD: cred.password },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    cli.stderr.on('data', (d: Buffer) => (stderr += d));
    const exit = new Promise<number | null>((r) => cli.on('exit', (code) => r(code)));
    await upstreamRuns('SELECT SLEEP(30)%');
    await db.restart();
    const code = await hangs(exit);
    if (code === 'hang') cli.kill('SIGKILL');
    expect(code).not.toBe('hang');
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/ERROR/);
    expect(stderr).not.toMatch(/malformed/i);
    await loginWorksAgain(cred);
  });
});

describe('MariaDB upstream down or silent at login', () => {
  it('a stopped upstream: a clear error naming the target, then logins work once it is back', async () => {
    const cred = await b.grant({ access: 'read', databases: [db.database] });
    await db.stop();
    try {
      const err = await connect(cred).then(() => null, (e: Error & { errno?: number }) => e);
      expect(err).toBeInstanceOf(Error);
      expect(err!.message).toMatch(/upstream my unavailable/);
    } finally {
      await db.start();
    }
    await loginWorksAgain(cred);
  });

  it('an upstream that accepts TCP and never greets: a clear error within the connect timeout', async () => {
    const res = await fetch(`${b.admin.url}/v1/requests`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKENS.alice}`, 'content-type': 'application/json' },
      body: JSON.stringify({ target: 'hung', access: 'read', ttl: '5m', reason: 'fault test', databases: [db.database] }),
    });
    const { grant } = (await res.json()) as { grant: Cred };
    const t0 = Date.now();
    const err = await connect(grant).then(() => null, (e: Error) => e);
    const took = Date.now() - t0;
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toMatch(/upstream hung unavailable/);
    expect(took).toBeLessThan(6_000);
    expect(took).toBeGreaterThanOrEqual(1_000);
  });
});
