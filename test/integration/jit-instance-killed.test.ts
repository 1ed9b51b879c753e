// Two broker instances on one Redis, one of them a real `dbwarden serve` process killed with SIGKILL while it holds
// sessions: its clients lose their connections, the survivor keeps serving, the dead instance's sessions leave
// GET /v1/sessions within the session index TTL (5 heartbeats = 10 s), and a revoke still ends the survivor's
// sessions within a second.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfigObject, type TestBroker } from '../helpers/broker.js';
import { freePort, spawnLogged, type Spawned } from '../helpers/process.js';
import { api, cleanupDirs, connect, flushRedisDb, grantFor, jitOverrides, startJitBroker, until } from './jit-helpers.js';

const DB = 7;
const redis = `redis://127.0.0.1:6379/${DB}`;
let dir: string;
let serve: Spawned;
let survivor: TestBroker;
let deadAdmin: string;
let deadPgPort: number;

beforeAll(async () => {
  await flushRedisDb(DB);
  dir = mkdtempSync(join(tmpdir(), 'dbw-killed-'));
  const [pgPort, adminPort] = [await freePort(), await freePort()];
  deadPgPort = pgPort;
  deadAdmin = `http://127.0.0.1:${adminPort}`;
  const cfg = testConfigObject(join(dir, 'state'), {
    ...jitOverrides({ redis, instanceId: 'doomed', stateDir: join(dir, 'state') }),
    listen: { postgres: `127.0.0.1:${pgPort}`, admin: `127.0.0.1:${adminPort}` },
    tls: { clients: 'disable' },
  });
  writeFileSync(join(dir, 'dbwarden.yaml'), stringify(cfg));
  serve = spawnLogged('node', ['--import', 'tsx', 'src/bin.ts', 'serve', '--config', join(dir, 'dbwarden.yaml')]);
  for (let i = 0; i < 300 && !(await fetch(`${deadAdmin}/readyz`).then((r) => r.ok, () => false)); i++) await new Promise((r) => setTimeout(r, 100));
  survivor = await startJitBroker({ redis, instanceId: 'survivor' });
}, 60_000);

afterAll(async () => {
  if (serve && serve.child.exitCode === null) serve.child.kill('SIGKILL');
  await survivor?.close();
  rmSync(dir, { recursive: true, force: true });
  cleanupDirs();
});

describe('a broker instance killed with SIGKILL', () => {
  it('its sessions end, the survivor serves on, the index forgets them, revokes still land within 1 s', async () => {
    const cred = await grantFor(survivor, 'alice', { access: 'read', ttl: '10m' });
    // sessions on the doomed instance
    const doomed = await Promise.all([0, 1, 2].map(async () => {
      const c = new pg.Client({ connectionString: `postgresql://${cred.login}:${cred.password}@127.0.0.1:${deadPgPort}/dbw_app?sslmode=disable` });
      const ended = new Promise<Error>((r) => c.on('error', r));
      await c.connect();
      return { c, ended };
    }));
    const onSurvivor = await connect(survivor, cred);
    await until('both instances listed', async () => {
      const s = await api(survivor, 'bob', 'GET', '/v1/sessions');
      const text = JSON.stringify(s.body);
      return text.includes('doomed') && text.includes('survivor');
    }, 10_000);

    serve.child.kill('SIGKILL');
    await serve.exited;
    // the clients of the dead instance see their connection go (no hang)
    for (const d of doomed) {
      const e = await Promise.race([d.ended, d.c.query('select 1').then(() => null, (err: Error) => err), new Promise<'hang'>((r) => setTimeout(() => r('hang'), 5000))]);
      expect(e).not.toBe('hang');
      expect(e).toBeInstanceOf(Error);
    }
    // the survivor keeps serving its own session and new logins
    expect((await onSurvivor.client.query('select 7 as n')).rows[0].n).toBe(7);
    const fresh = await connect(survivor, cred);
    await fresh.client.end();
    // the dead instance's entries leave the session index within its TTL (2 s heartbeat × 5)
    const t0 = Date.now();
    await until('dead instance gone from /v1/sessions', async () => !JSON.stringify((await api(survivor, 'bob', 'GET', '/v1/sessions')).body).includes('doomed'), 15_000, 250);
    expect(Date.now() - t0).toBeLessThan(12_500);
    // a revoke still ends the survivor's session within one second
    const r0 = Date.now();
    expect((await api(survivor, 'bob', 'POST', `/v1/grants/${cred.grantId}/revoke`, {})).status).toBe(200);
    const err = await onSurvivor.ended;
    expect(err.message).toMatch(/grant revoked/);
    expect(onSurvivor.endedAt()! - r0).toBeLessThan(1000);
  }, 60_000);
});
