// Redis (state.store: redis) stopped and started again under load, with two broker instances on a private
// redis-server that keeps its data on disk (the shared one on 6379 is never touched). While Redis is down: new
// logins are refused with a clear 08006, a revoke through the API answers 503 BRK_STORE_UNAVAILABLE (it is not
// taken and then forgotten), killing a session through the other API path still works on the instance holding it,
// sessions of live grants keep answering and the one whose grant runs out ends on time from the deadline held in
// memory. When Redis is back: the revoke issued again ends the grant's sessions on the other instance within 1 s,
// the grant that ran out is marked expired, no grant is missing, and both audit trails verify and hold every
// statement the clients got an answer for, the kill, the revoke and the expiry.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditTrail } from '../../src/audit/verify.js';
import type { TestBroker } from '../helpers/broker.js';
import { freePort } from '../helpers/process.js';
import { api, cleanupDirs, connect, connectError, grantFor, sleep, startJitBroker, tempDir, until, type Creds, type Watched } from './jit-helpers.js';

let port: number;
let redisDir: string;
let redis: ChildProcess | undefined;
const brokers: { b: TestBroker; dir: string }[] = [];

async function startRedis(): Promise<void> {
  // appendonly with fsync per write: a restarted Redis comes back with every grant, as a production one would
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', redisDir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always'], { stdio: ['ignore', 'pipe', 'pipe'] });
  redis = child;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('redis-server did not start')), 10_000);
    child.stdout!.on('data', (d: Buffer) => {
      if (/Ready to accept connections/i.test(d.toString())) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}`)));
  });
}

/** A clean shutdown (SIGTERM), as `systemctl restart redis` does. */
async function stopRedis(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const child = redis;
  redis = undefined;
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await exited;
}

const readyz = async (b: TestBroker) => (await fetch(`${b.admin.url}/readyz`)).status;

/** A session that issues statements back to back until stopped or ended; counts answers and records its end. */
interface Loaded {
  w: Watched;
  answered: number;
  /** answers received while Redis was down */
  answeredInOutage: number;
  error?: Error & { code?: string };
  /** the first error seen (a query's, or the client's while idle) and when it came */
  ended: Promise<Error & { code?: string }>;
  endedAt?: number;
  stop(): Promise<void>;
}

let outage = false;

async function loaded(b: TestBroker, cred: Creds): Promise<Loaded> {
  const w = await connect(b, cred);
  let stopped = false;
  let first: (e: Error & { code?: string }) => void = () => undefined;
  const l: Loaded = { w, answered: 0, answeredInOutage: 0, ended: new Promise((r) => (first = r)), stop: async () => undefined };
  const end = (e: Error & { code?: string }) => {
    if (l.endedAt !== undefined) return;
    l.endedAt = Date.now();
    first(e);
  };
  void w.ended.then(end);
  const loop = (async () => {
    let i = 0;
    while (!stopped) {
      try {
        await w.client.query(`select ${++i} as n`);
        l.answered++;
        if (outage) l.answeredInOutage++;
      } catch (e) {
        l.error = e as Error & { code?: string };
        end(l.error);
        return;
      }
      await sleep(20);
    }
  })();
  l.stop = async () => {
    stopped = true;
    await loop;
  };
  return l;
}

beforeAll(async () => {
  port = await freePort();
  redisDir = mkdtempSync(join(tmpdir(), 'dbw-faults-redis-'));
  await startRedis();
  for (let i = 0; i < 2; i++) {
    const dir = tempDir();
    brokers.push({ b: await startJitBroker({ redis: `redis://127.0.0.1:${port}/0`, stateDir: dir }), dir });
  }
}, 60_000);

afterAll(async () => {
  for (const { b } of brokers) await b.close().catch(() => undefined);
  await stopRedis('SIGKILL');
  rmSync(redisDir, { recursive: true, force: true });
  cleanupDirs();
});

describe('Redis stopped and started under load', () => {
  it('no new logins while down, live sessions run to their deadline, revokes land when it returns, nothing lost', async () => {
    const [{ b: b1, dir: d1 }, { b: b2, dir: d2 }] = brokers as [{ b: TestBroker; dir: string }, { b: TestBroker; dir: string }];
    const long = await grantFor(b1, 'alice', { access: 'read', ttl: '10m' });
    const toRevoke = await grantFor(b1, 'alice', { access: 'read', ttl: '10m' });
    // runs out during the outage: long enough for every session to answer first on a loaded machine (up to 10 s)
    const short = await grantFor(b2, 'alice', { access: 'read', ttl: '20s' });
    const sessions = {
      long1: await loaded(b1, long), long2: await loaded(b2, long),
      rev1: await loaded(b1, toRevoke), rev2: await loaded(b2, toRevoke),
      short1: await loaded(b1, short),
    };
    // every session is live before the outage (under a loaded suite a first answer can take longer than a moment)
    await until('every session to answer', () => Object.values(sessions).every((s) => s.answered > 0 || s.error !== undefined), 10_000);
    for (const s of Object.values(sessions)) expect(s.error).toBeUndefined();
    for (const s of Object.values(sessions)) expect(s.answered).toBeGreaterThan(0);

    // ---- Redis goes down (clean shutdown) ----
    await stopRedis();
    outage = true;
    const downAt = Date.now();
    await until('both instances not ready', async () => (await readyz(b1)) === 503 && (await readyz(b2)) === 503, 10_000, 50);

    // new logins: refused on the wire, with a reason a person can act on
    for (const b of [b1, b2]) {
      const refused = await connectError(b, long);
      expect(refused.code).toBe('08006');
      expect(refused.message).toMatch(/^dbwarden: the grant store is unavailable; new logins are refused for now/);
    }
    // a revoke through the grants API is refused, not accepted and lost
    const revokeDown = await api(b1, 'alice', 'POST', `/v1/grants/${toRevoke.grantId}/revoke`, { reason: 'during the outage' });
    expect(revokeDown.status).toBe(503);
    expect(revokeDown.body.error.code).toBe('BRK_STORE_UNAVAILABLE');
    // the other API path: killing the session on the instance that holds it needs no Redis
    const listed = await api(b1, 'alice', 'GET', '/v1/sessions');
    expect(listed.status).toBe(200);
    const rev1Id = (listed.body as { id: string; grantId: string }[]).find((s) => s.grantId === toRevoke.grantId)?.id;
    expect(rev1Id).toBeTruthy();
    const killAt = Date.now();
    const kill = await api(b1, 'alice', 'POST', `/v1/sessions/${rev1Id}/kill`);
    expect(kill.status).toBe(200);
    const killed = await sessions.rev1.ended;
    expect(killed.message).toMatch(/^dbwarden: session killed/);
    expect(sessions.rev1.endedAt! - killAt).toBeLessThan(1000);

    // the grant that runs out during the outage still ends on time, from the deadline the instance holds
    const expired = await sessions.short1.ended;
    expect(expired.message).toMatch(/^dbwarden: grant expired/);
    expect(sessions.short1.endedAt! - Date.parse(short.expiresAt)).toBeLessThan(1000);
    expect(Date.parse(short.expiresAt)).toBeGreaterThan(downAt);
    await sleep(500);

    // ---- Redis comes back with its data ----
    await startRedis();
    outage = false;
    await until('both instances ready', async () => (await readyz(b1)) === 200 && (await readyz(b2)) === 200, 15_000, 100);
    // live sessions went on through the outage and still do
    for (const k of ['long1', 'long2', 'rev2'] as const) {
      expect(sessions[k].error, k).toBeUndefined();
      expect(sessions[k].answeredInOutage, k).toBeGreaterThan(0);
    }
    // the revoke, issued again now, ends the grant's session on the other instance within a second
    const t0 = Date.now();
    const revoked = await api(b1, 'alice', 'POST', `/v1/grants/${toRevoke.grantId}/revoke`, { reason: 'after the outage' });
    expect(revoked.status).toBe(200);
    const ended = await sessions.rev2.ended;
    expect(ended.message).toMatch(/^dbwarden: grant revoked/);
    expect(sessions.rev2.endedAt! - t0).toBeLessThan(1000);
    // a new login works again, and the sessions of the live grant never noticed anything
    const again = await connect(b2, long);
    expect((await again.client.query('select 1 as n')).rows[0].n).toBe(1);
    await again.client.end();

    // no grant lost: each is there with the state it must have (the expiry is caught up by the sweep)
    const state = async (g: Creds) => (await api(b1, 'alice', 'GET', `/v1/grants/${g.grantId}`)).body.status as string;
    expect(await state(long)).toBe('active');
    expect(await state(toRevoke)).toBe('revoked');
    await until('expiry caught up', async () => (await state(short)) === 'expired', 5000, 100);

    await sessions.long1.stop();
    await sessions.long2.stop();
    expect(sessions.long1.error).toBeUndefined();
    expect(sessions.long2.error).toBeUndefined();
    await sessions.long1.w.client.end();
    await sessions.long2.w.client.end();
    // a session's end is written when its sockets have closed, a moment after the client saw its error
    const endsIn = (dir: string, g: Creds, reason: string) => readFileSync(join(dir, 'audit.jsonl'), 'utf8').split('\n').some((l) => l.includes('"type":"session.ended"') && l.includes(g.grantId) && l.includes(`"reason":"${reason}"`));
    await until('session ends audited', () => endsIn(d1, toRevoke, 'killed') && endsIn(d2, toRevoke, 'revoked') && endsIn(d1, short, 'expired'), 10_000, 100);

    // no audit event lost: both trails verify, every answered statement is in the trail of the instance that ran it
    const events = (dir: string) => {
      const file = join(dir, 'audit.jsonl');
      const v = verifyAuditTrail(file);
      expect(v.ok, JSON.stringify(v)).toBe(true);
      return readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    };
    const e1 = events(d1);
    const e2 = events(d2);
    const stmts = (ev: Record<string, unknown>[], g: Creds) => ev.filter((e) => e.type === 'statement' && e.grant === g.grantId && e.action === 'allow').length;
    expect(stmts(e1, long)).toBeGreaterThanOrEqual(sessions.long1.answered);
    expect(stmts(e2, long) - 1).toBeGreaterThanOrEqual(sessions.long2.answered); // minus the one of `again`
    expect(stmts(e1, toRevoke)).toBeGreaterThanOrEqual(sessions.rev1.answered);
    expect(stmts(e2, toRevoke)).toBeGreaterThanOrEqual(sessions.rev2.answered);
    expect(stmts(e1, short)).toBeGreaterThanOrEqual(sessions.short1.answered);
    const ends = (ev: Record<string, unknown>[], g: Creds) => ev.filter((e) => e.type === 'session.ended' && e.grant === g.grantId).map((e) => e.reason);
    expect(ends(e1, toRevoke)).toContain('killed');
    expect(ends(e2, toRevoke)).toContain('revoked');
    expect(ends(e1, short)).toContain('expired');
    const all = [...e1, ...e2];
    expect(all.filter((e) => e.type === 'grant.revoked' && e.grantId === toRevoke.grantId)).toHaveLength(1);
    expect(all.filter((e) => e.type === 'grant.expired' && e.grantId === short.grantId).length).toBeGreaterThanOrEqual(1);
    // the kill, the revoke refused during the outage and the one that went through are in the admin trail too
    expect(e1.filter((e) => e.type === 'admin.kill' && e.id === rev1Id && e.ok === true)).toHaveLength(1);
    expect(e1.filter((e) => e.type === 'admin.revoke' && e.id === toRevoke.grantId).map((e) => e.ok)).toEqual([false, true]);
  }, 120_000);
});
