// Two broker instances sharing the local Redis: revoke, kill and extend cross instances; listings cover both;
// approvals racing on both produce one grant.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestBroker } from '../helpers/broker.js';
import { api, cleanupDirs, connect, flushRedisDb, grantFor, sleep, startJitBroker, until } from './jit-helpers.js';

const DB = 5;
let a: TestBroker;
let b: TestBroker;

beforeAll(async () => {
  await flushRedisDb(DB);
  a = await startJitBroker({ redis: `redis://127.0.0.1:6379/${DB}`, instanceId: 'broker-a' });
  b = await startJitBroker({ redis: `redis://127.0.0.1:6379/${DB}`, instanceId: 'broker-b' });
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  cleanupDirs();
});

describe('two broker instances on one Redis', () => {
  it('both use the redis store and are ready', async () => {
    expect(a.store.kind).toBe('redis');
    expect((await fetch(`${a.admin.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${b.admin.url}/readyz`)).status).toBe(200);
  });

  it('a grant made on A logs in on B', async () => {
    const cred = await grantFor(a, 'alice', { access: 'read', ttl: '5m' });
    const s = await connect(b, cred);
    expect((await s.client.query('select current_user as u')).rows[0].u).toBe('dbw_ro');
    await s.client.end();
  });

  it('revoke on A ends a session held by B within one second, running statement included', async () => {
    const cred = await grantFor(a, 'alice', { access: 'read', ttl: '5m' });
    const idle = await connect(b, cred);
    const busy = await connect(b, cred);
    busy.client.on('error', () => undefined);
    const sleeping = busy.client.query('select pg_sleep(30)').catch((e) => e);
    await sleep(200);
    const t0 = Date.now();
    const r = await api(a, 'alice', 'POST', `/v1/grants/${cred.grantId}/revoke`, { reason: 'done' });
    expect(r.status).toBe(200);
    const e = await sleeping;
    expect(e.code).toBe('57P01');
    expect(e.message).toMatch(/^dbwarden: grant revoked/);
    const ie = await idle.ended;
    expect(ie.message).toMatch(/dbwarden: grant revoked/);
    expect(Math.max(Date.now() - t0, idle.endedAt()! - t0)).toBeLessThan(1000);
  });

  it('GET /v1/sessions on A lists the session held by B; kill on A ends it on B', async () => {
    const cred = await grantFor(b, 'alice', { access: 'read', ttl: '5m' });
    const s = await connect(b, cred);
    const listed = await until('B session on A', async () => {
      const r = await api(a, 'bob', 'GET', '/v1/sessions');
      return (r.body as { id: string; grantId: string; instance: string }[]).find((x) => x.grantId === cred.grantId);
    });
    expect(listed.instance).toBe('broker-b');
    const t0 = Date.now();
    const k = await api(a, 'alice', 'POST', `/v1/sessions/${listed.id}/kill`);
    expect(k.status).toBe(200);
    expect(k.body).toEqual({ id: listed.id, killed: true });
    const e = await s.ended;
    expect(e.message).toMatch(/^dbwarden: session killed/);
    expect(Date.now() - t0).toBeLessThan(1000);
    // gone from both listings, and a second kill finds nothing
    await until('session gone', async () => !(await api(a, 'bob', 'GET', '/v1/sessions')).body.some((x: { id: string }) => x.id === listed.id));
    expect((await api(a, 'alice', 'POST', `/v1/sessions/${listed.id}/kill`)).status).toBe(404);
  });

  it('kill of a foreign session across instances still needs the right to kill it', async () => {
    const cred = await grantFor(b, 'alice', { access: 'read', ttl: '5m' });
    const s = await connect(b, cred);
    const listed = await until('session listed', async () => (await api(a, 'ci', 'GET', '/v1/sessions')).body.find((x: { grantId: string }) => x.grantId === cred.grantId));
    expect((await api(a, 'ci', 'POST', `/v1/sessions/${listed.id}/kill`)).status).toBe(403);
    expect((await s.client.query('select 1 as n')).rows[0].n).toBe(1);
    await s.client.end();
  });

  it('extend on A moves the deadline of a session on B', async () => {
    const cred = await grantFor(a, 'alice', { access: 'read', ttl: '2s' });
    const s = await connect(b, cred);
    const r = await api(a, 'alice', 'POST', `/v1/grants/${cred.grantId}/extend`, { ttl: '1m' });
    expect(r.status).toBe(200);
    await sleep(2600);
    expect((await s.client.query('select 2 as n')).rows[0].n).toBe(2);
    expect(s.endedAt()).toBeUndefined();
    const listed = (await api(a, 'alice', 'GET', '/v1/sessions')).body.find((x: { grantId: string }) => x.grantId === cred.grantId);
    expect(Date.parse(listed.expiresAt)).toBe(Date.parse(r.body.expiresAt));
    await s.client.end();
  });

  it('approvals racing on both instances produce exactly one grant', async () => {
    for (let round = 0; round < 3; round++) {
      const req = await api(a, 'alice', 'POST', '/v1/requests', { target: 'app', access: 'write', ttl: '30m', reason: 'race', databases: ['dbw_app'] });
      expect(req.status).toBe(201);
      expect(req.body.request.status).toBe('pending');
      const id = req.body.request.id;
      const [x, y] = await Promise.all([api(a, 'bob', 'POST', `/v1/requests/${id}/approve`), api(b, 'carol', 'POST', `/v1/requests/${id}/approve`)]);
      expect([x.status, y.status].sort()).toEqual([200, 409]);
      const grants = (await api(b, 'bob', 'GET', '/v1/grants?all=1')).body.filter((g: { requestId: string }) => g.requestId === id);
      expect(grants).toHaveLength(1);
      // the requester fetches the password once, on either instance
      const creds = await api(b, 'alice', 'POST', `/v1/requests/${id}/credentials`);
      expect(creds.status).toBe(200);
      expect(creds.body.grantId).toBe(grants[0].id);
      expect((await api(a, 'alice', 'POST', `/v1/requests/${id}/credentials`)).status).toBe(410);
    }
  });
});
