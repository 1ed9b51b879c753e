// Faults on the PostgreSQL upstream, on a throwaway cluster: restarts mid-statement, mid-COPY (both directions)
// and mid-transaction; an upstream that is down, and one that accepts TCP and never answers. Each time the client
// gets a clean protocol error (never a hang or a malformed stream), the session's end is audited, and logins
// work again once the server is back.
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKENS, startTestBroker, type TestBroker } from '../helpers/broker.js';
import { startScratchCluster, type ScratchCluster } from '../helpers/scratch-cluster.js';

let cluster: ScratchCluster;
let b: TestBroker;
let silent: Server;
const silentSockets: Socket[] = [];

beforeAll(async () => {
  cluster = await startScratchCluster({ auth: 'scram-sha-256' });
  await cluster.sql(`grant all on schema public to ${cluster.roles.rw.user}`, cluster.database);
  // an "upstream" that accepts connections and never says a word (a hung server, a black-holing firewall)
  silent = createServer((s) => void silentSockets.push(s));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const silentPort = (silent.address() as { port: number }).port;
  const target = (port: number, extra: Record<string, unknown> = {}) => ({
    protocol: 'postgres', host: '127.0.0.1', port, databases: [cluster.database], tls: 'disable', rulesets: ['safe-defaults'],
    roles: { read: cluster.roles.ro, write: cluster.roles.rw, admin: cluster.roles.rw },
    ...extra,
  });
  b = await startTestBroker({
    targets: { app: target(cluster.port), hung: target(silentPort, { connectTimeout: '1500ms' }) },
  });
});

afterAll(async () => {
  await b?.close();
  for (const s of silentSockets) s.destroy();
  await new Promise((r) => silent?.close(r));
  await cluster?.close();
});

async function connect(cred: { login: string; password: string }): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: b.url(cred, cluster.database), connectionTimeoutMillis: 10_000 });
  c.on('error', () => undefined); // the FATAL also arrives as an 'error' event once the connection is gone
  await c.connect();
  return c;
}

function auditEvents(): { type: string; reason?: string; session?: string }[] {
  return readFileSync(join(b.stateDir, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

async function waitFor(check: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The upstream backend of the broker's session is running `pattern`. */
async function runningUpstream(pattern: string): Promise<void> {
  const until = Date.now() + 5000;
  for (;;) {
    const n = Number(await cluster.sql(`select count(*) from pg_stat_activity where query like '${pattern}' and state = 'active'`));
    if (n > 0) return;
    if (Date.now() > until) throw new Error(`upstream never ran ${pattern}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function loginWorksAgain(cred: { login: string; password: string }): Promise<void> {
  const until = Date.now() + 15_000;
  for (;;) {
    try {
      const c = await connect(cred);
      const r = await c.query('select 41 + 1 as n');
      await c.end();
      expect(r.rows[0].n).toBe(42);
      return;
    } catch (e) {
      if (Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

describe('PostgreSQL upstream restarted under a live session', () => {
  it('mid-statement: the client gets the server FATAL, the session end is audited, new logins work', async () => {
    const cred = await b.grant({ access: 'write', databases: [cluster.database] });
    const c = await connect(cred);
    const running = c.query('select pg_sleep(30)').then(() => null, (e: Error & { code?: string }) => e);
    await runningUpstream('select pg_sleep(30)');
    const t0 = Date.now();
    await cluster.restart();
    const err = await running;
    expect(err).not.toBeNull();
    // 57P01: "terminating connection due to administrator command", relayed as the server sent it
    expect(err!.code === '57P01' || /terminat|connection/i.test(err!.message)).toBe(true);
    expect(Date.now() - t0).toBeLessThan(15_000);
    await waitFor(() => auditEvents().some((e) => e.type === 'session.ended' && e.reason === 'upstream'));
    await loginWorksAgain(cred);
  });

  it('mid-transaction: the open transaction is gone and the client is told, not left hanging', async () => {
    const cred = await b.grant({ access: 'write', databases: [cluster.database] });
    await cluster.sql(`create table if not exists fault_tx (id int primary key)`, cluster.database);
    await cluster.sql(`grant all on fault_tx to ${cluster.roles.rw.user}`, cluster.database);
    const c = await connect(cred);
    await c.query('begin');
    await c.query('insert into fault_tx values (1)');
    await cluster.restart();
    const err = await c.query('commit').then(() => null, (e: Error) => e);
    expect(err).not.toBeNull();
    expect(await cluster.sql('select count(*) from fault_tx where id = 1', cluster.database)).toBe('0\n');
    await loginWorksAgain(cred);
  });

  it('mid-COPY TO STDOUT (psql): psql exits with an error, never hangs', async () => {
    const cred = await b.grant({ access: 'read', databases: [cluster.database] });
    await cluster.sql(`create table if not exists fault_big as select g, repeat('x', 200) t from generate_series(1, 200000) g`, cluster.database);
    await cluster.sql(`grant select on fault_big to ${cluster.roles.ro.user}`, cluster.database);
    // a nested loop over a stored table streams (a bare generate_series would be materialized first)
    const psql = spawn('psql', [b.url(cred, cluster.database), '-v', 'ON_ERROR_STOP=1', '-c', 'copy (select * from fault_big cross join generate_series(1, 100) k) to stdout'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let got = 0;
    let stderr = '';
    psql.stdout.on('data', (d: Buffer) => (got += d.length));
    psql.stderr.on('data', (d: Buffer) => (stderr += d));
    const exit = new Promise<number | null>((r) => psql.on('exit', (code) => r(code)));
    await waitFor(() => got > 100_000, 15_000);
    await cluster.restart();
    const code = await Promise.race([exit, new Promise<'hang'>((r) => setTimeout(() => r('hang'), 15_000))]);
    if (code === 'hang') psql.kill('SIGKILL');
    expect(code).not.toBe('hang');
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/terminat|connection|server closed/i);
    await loginWorksAgain(cred);
  });

  it('mid-COPY FROM STDIN (psql): psql exits with an error and nothing of the copy is committed', async () => {
    const cred = await b.grant({ access: 'write', databases: [cluster.database] });
    await cluster.sql(`create table if not exists fault_copy (n int, t text)`, cluster.database);
    await cluster.sql(`grant all on fault_copy to ${cluster.roles.rw.user}`, cluster.database);
    const psql = spawn('psql', [b.url(cred, cluster.database), '-v', 'ON_ERROR_STOP=1', '-c', 'copy fault_copy from stdin'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    psql.stderr.on('data', (d: Buffer) => (stderr += d));
    psql.stdin.on('error', () => undefined);
    const exit = new Promise<number | null>((r) => psql.on('exit', (code) => r(code)));
    let n = 0;
    const feeder = setInterval(() => {
      if (!psql.stdin.writable) return;
      const rows: string[] = [];
      for (let i = 0; i < 500; i++) rows.push(`${++n}\tabc`);
      psql.stdin.write(rows.join('\n') + '\n');
    }, 5);
    try {
      await runningUpstream('copy fault_copy from stdin');
      await waitFor(() => n > 5000, 10_000);
      await cluster.restart();
      const code = await Promise.race([exit, new Promise<'hang'>((r) => setTimeout(() => r('hang'), 15_000))]);
      if (code === 'hang') psql.kill('SIGKILL');
      expect(code).not.toBe('hang');
      expect(code).not.toBe(0);
    } finally {
      clearInterval(feeder);
    }
    expect(await cluster.sql('select count(*) from fault_copy', cluster.database)).toBe('0\n');
    await loginWorksAgain(cred);
  });
});

describe('PostgreSQL upstream down or silent at login', () => {
  it('a stopped upstream: FATAL 08006 naming the target, then logins work once it is back', async () => {
    const cred = await b.grant({ access: 'read', databases: [cluster.database] });
    await cluster.stop();
    try {
      const err = await connect(cred).then(() => null, (e: Error & { code?: string }) => e);
      expect(err?.code).toBe('08006');
      expect(err?.message).toMatch(/upstream app unavailable/);
    } finally {
      await cluster.start();
    }
    await loginWorksAgain(cred);
  });

  it('an upstream that accepts TCP and never answers: a clear 08006 within the connect timeout', async () => {
    const res = await fetch(`${b.admin.url}/v1/requests`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKENS.alice}`, 'content-type': 'application/json' },
      body: JSON.stringify({ target: 'hung', access: 'read', ttl: '5m', reason: 'fault test', databases: [cluster.database] }),
    });
    const { grant } = (await res.json()) as { grant: { login: string; password: string } };
    const t0 = Date.now();
    const err = await connect(grant).then(() => null, (e: Error & { code?: string }) => e);
    const took = Date.now() - t0;
    expect(err?.code).toBe('08006');
    expect(err?.message).toMatch(/upstream hung unavailable/);
    expect(took).toBeLessThan(6_000);
    expect(took).toBeGreaterThanOrEqual(1_000);
  });
});

