// Redis going away and coming back, on a private redis-server (the shared one on 6379 stays up for other tests):
// new logins are refused with 08006, live sessions run on to their known deadline, /readyz says 503, recovery after.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../bench/lib/free-port.js';
import type { TestBroker } from '../helpers/broker.js';
import { api, cleanupDirs, connect, connectError, grantFor, sleep, startJitBroker, until } from './jit-helpers.js';

let port: number;
let redis: ChildProcess | undefined;
let b: TestBroker;
/** a second instance: after the outage, fan-out to it must work again (its subscription is renewed) */
let b2: TestBroker;

async function startRedis(): Promise<void> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  redis = child;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('redis-server did not start')), 5000);
    child.stdout!.on('data', (d: Buffer) => {
      if (/Ready to accept connections/i.test(d.toString())) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}`)));
  });
}

async function stopRedis(): Promise<void> {
  const child = redis;
  redis = undefined;
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

const readyz = async () => {
  const res = await fetch(`${b.admin.url}/readyz`);
  return { status: res.status, body: (await res.json()) as { ok: boolean; reasons: string[] } };
};

beforeAll(async () => {
  port = await freePort();
  await startRedis();
  b = await startJitBroker({ redis: `redis://127.0.0.1:${port}/0` });
  b2 = await startJitBroker({ redis: `redis://127.0.0.1:${port}/0` });
});
afterAll(async () => {
  await b?.close();
  await b2?.close();
  await stopRedis();
  cleanupDirs();
});

describe('Redis unreachable', () => {
  it('refuses new logins, keeps live sessions to their deadline, reports 503, and recovers', async () => {
    const long = await grantFor(b, 'alice', { access: 'read', ttl: '10m' });
    const short = await grantFor(b, 'bob', { access: 'read', ttl: '4s' });
    const live = await connect(b, long);
    const ending = await connect(b, short);
    expect((await readyz()).status).toBe(200);

    await stopRedis();
    const down = await until('readyz 503', async () => {
      const r = await readyz();
      return r.status === 503 ? r : undefined;
    });
    expect(down.body.ok).toBe(false);
    expect(down.body.reasons.join(' ')).toMatch(/grant store unavailable \(redis /);

    const refused = await connectError(b, long);
    expect(refused.code).toBe('08006');
    expect(refused.message).toMatch(/^dbwarden: the grant store is unavailable/);
    const req = await api(b, 'alice', 'POST', '/v1/requests', { target: 'app', access: 'read', ttl: '5m', reason: 'x', databases: ['dbw_app'] });
    expect(req.status).toBe(503);
    expect(req.body.error.code).toBe('BRK_STORE_UNAVAILABLE');

    // live sessions go on; the one whose grant runs out still ends on time, from the deadline held in memory
    expect((await live.client.query('select 7 as n')).rows[0].n).toBe(7);
    const e = await ending.ended;
    expect(e.message).toMatch(/^dbwarden: grant expired/);
    expect(ending.endedAt()! - Date.parse(short.expiresAt)).toBeLessThan(1000);
    expect((await live.client.query('select 8 as n')).rows[0].n).toBe(8);

    // Redis is back (empty: no persistence): ready again, new grants log in, the old session still runs
    await startRedis();
    await until('readyz 200', async () => (await readyz()).status === 200, 10_000, 100);
    const fresh = await grantFor(b, 'alice', { access: 'read', ttl: '5m' });
    const again = await connect(b, fresh);
    expect((await again.client.query('select 9 as n')).rows[0].n).toBe(9);
    await sleep(2500); // a few reconcile rounds: a grant missing after data loss does not end a live session
    expect((await live.client.query('select 10 as n')).rows[0].n).toBe(10);
    // fan-out works again: a revoke on one instance ends a session held by the other
    const other = await connect(b2, fresh);
    const t0 = Date.now();
    expect((await api(b, 'alice', 'POST', `/v1/grants/${fresh.grantId}/revoke`)).status).toBe(200);
    expect((await other.ended).message).toMatch(/^dbwarden: grant revoked/);
    expect(other.endedAt()! - t0).toBeLessThan(1000);
    await live.client.end();
  });
});
