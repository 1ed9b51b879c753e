// A broker restart (embedded and redis store) keeps grants, pending requests and reviews and enforces expiry
// from the stored deadlines; a login just before expiry still ends at expiry.
import { afterAll, describe, expect, it } from 'vitest';
import type { TestBroker } from '../helpers/broker.js';
import { api, cleanupDirs, connect, connectError, flushRedisDb, grantFor, sleep, startJitBroker, tempDir } from './jit-helpers.js';

const DB = 9; // its own Redis database: jit-instance-killed uses 7 and flushes it, and files run in parallel
afterAll(() => cleanupDirs());

describe.each([
  { store: 'embedded', redis: undefined },
  { store: 'redis', redis: `redis://127.0.0.1:6379/${DB}` },
] as const)('restart with the $store store', ({ redis }) => {
  it('keeps grants, pending requests and reviews, and ends sessions at the stored deadline', async () => {
    if (redis) await flushRedisDb(DB);
    const stateDir = tempDir();
    let first: TestBroker | undefined = await startJitBroker({ stateDir, redis });
    const pending = await api(first, 'alice', 'POST', '/v1/requests', { target: 'app', access: 'write', ttl: '1h', reason: 'migration', databases: ['dbw_app'] });
    expect(pending.body.request.status).toBe('pending');
    const long = await grantFor(first, 'alice', { access: 'read', ttl: '1h' });
    const short = await grantFor(first, 'bob', { access: 'read', ttl: '8s' });
    await first.store.putReview({
      id: 'rv_restart_' + Date.now(), grantId: long.grantId, identity: 'alice', target: 'app', text: 'delete from t', ruleIds: ['unscoped-write'],
      status: 'pending', createdAt: new Date().toISOString(),
    });
    await first.close();
    first = undefined;

    await using second = await startJitBroker({ stateDir, redis });
    // the short grant's session first, while its deadline is still seconds away on a loaded machine
    const s = await connect(second, short);
    const requests = await api(second, 'bob', 'GET', '/v1/requests?status=pending');
    expect(requests.body.map((r: { id: string }) => r.id)).toContain(pending.body.request.id);
    const grants = (await api(second, 'bob', 'GET', '/v1/grants')).body.map((g: { id: string }) => g.id);
    expect(grants).toEqual(expect.arrayContaining([long.grantId, short.grantId]));
    const reviews = await second.store.listReviews({ status: 'pending' });
    expect(reviews.map((r) => r.grantId)).toContain(long.grantId);
    // the pending request can still be approved after the restart
    expect((await api(second, 'bob', 'POST', `/v1/requests/${pending.body.request.id}/approve`)).status).toBe(200);

    // passwords survive as verifiers: both logins work after the restart
    const l = await connect(second, long);
    expect((await l.client.query('select 1 as n')).rows[0].n).toBe(1);
    const e = await s.ended;
    expect(e.message).toMatch(/^dbwarden: grant expired/);
    expect(s.endedAt()! - Date.parse(short.expiresAt)).toBeGreaterThanOrEqual(-50);
    expect(s.endedAt()! - Date.parse(short.expiresAt)).toBeLessThan(1000);
    expect((await connectError(second, short)).code).toBe('28P01');
    // the expiry was recorded from the stored deadline (by the once-a-second sweep: polled)
    let status = '';
    for (const until = Date.now() + 10_000; status !== 'expired' && Date.now() < until; await sleep(200)) {
      status = (await api(second, 'bob', 'GET', '/v1/grants?all=1')).body.find((g: { id: string }) => g.id === short.grantId).status;
    }
    expect(status).toBe('expired');
    await l.client.end();
  });
});

describe('clock edge', () => {
  it('a login one second before expiry gets a session that still ends at expiry', async () => {
    await using b = await startJitBroker();
    // one session first, so the login at the edge does not also pay the broker's first catalog reads
    const warm = await connect(b, await grantFor(b, 'bob', { access: 'read', ttl: '1h' }));
    await warm.client.query('select 1');
    await warm.client.end();
    const cred = await grantFor(b, 'alice', { access: 'read', ttl: '3s' });
    const deadline = Date.parse(cred.expiresAt);
    await sleep(deadline - 1000 - Date.now());
    const s = await connect(b, cred);
    expect(Date.now()).toBeLessThan(deadline);
    expect((await s.client.query('select 1 as n')).rows[0].n).toBe(1);
    const e = await s.ended;
    expect(e.message).toMatch(/^dbwarden: grant expired/);
    expect(e.code).toBe('57P01');
    expect(s.endedAt()!).toBeGreaterThanOrEqual(deadline - 50);
    expect(s.endedAt()! - deadline).toBeLessThan(1000);
  });
});
