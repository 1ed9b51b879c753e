// Tests for the Redis GrantStore against the local Redis: round trips, indexes, TTLs, cross-instance guards,
// the live-session index, pub/sub, connection settings and behaviour while Redis is unreachable.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore, storeRefusal } from '../../../src/grants/redis-store.js';
import { parseRedisSetting } from '../../../src/config/redis.js';
import type { AccessRequest, Grant, ReviewRecord } from '../../../src/grants/model.js';
import { AccessService } from '../../../src/grants/service.js';
import { MemoryAudit, alice, bob, carol, rejection, testConfig } from './helpers.js';

const URL = 'redis://127.0.0.1:6379/6';
let raw: Redis;
let prefix: string;
const stores: RedisStore[] = [];

async function open(retentionMs?: number): Promise<RedisStore> {
  const s = await RedisStore.connect({ mode: 'standalone', url: URL, keyPrefix: prefix }, retentionMs ? { retentionMs } : {});
  stores.push(s);
  return s;
}

beforeAll(() => {
  raw = new Redis(URL);
});
afterAll(async () => {
  await raw.quit();
});
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  const keys = await raw.keys(`{${prefix}}:*`);
  if (keys.length) await raw.del(...keys);
});
const fresh = () => {
  prefix = 'dbwtest-' + randomBytes(4).toString('hex');
};

const request = (id: string, status: AccessRequest['status'], requester = 'alice', createdAt = '2025-01-01T00:00:01.000Z'): AccessRequest => ({
  id, requester, requesterGroups: ['dev'], target: 'app', access: 'read', databases: ['app'], ttlMs: 60_000, reason: 'debug',
  status, policy: 'p', approvalsRequired: 0, approvers: [], approvals: [], createdAt, credentialsIssued: false, alert: false,
});
const future = (ms: number) => new Date(Date.now() + ms).toISOString();
const grant = (id: string, login: string, requestId = 'req_' + id, status: Grant['status'] = 'active'): Grant => ({
  id, requestId, identity: 'alice', groups: ['dev'], target: 'app', access: 'read', databases: ['app'], login,
  verifiers: { scramSha256: 'SCRAM-SHA-256$4096:c2FsdA==$a:b', mysqlNative: 'ab', cachingSha2: 'cd' },
  activatedAt: new Date().toISOString(), expiresAt: future(3_600_000), status,
});
const review = (id: string, status: ReviewRecord['status']): ReviewRecord => ({
  id, grantId: 'gr_1', identity: 'alice', target: 'app', text: 'DELETE FROM t', ruleIds: ['unscoped-write'], status, createdAt: new Date().toISOString(),
});

describe('RedisStore documents', () => {
  it('round-trips requests with status and requester filters, in creation order', async () => {
    fresh();
    const s = await open();
    expect(s.kind).toBe('redis');
    expect(s.ready()).toBe(true);
    await s.putRequest(request('req_2', 'pending', 'bob', '2025-01-01T00:00:02.000Z'));
    await s.putRequest(request('req_1', 'pending'));
    await s.putRequest({ ...request('req_1', 'denied'), decidedAt: '2025-01-02T00:00:00.000Z' });
    expect(await s.getRequest('req_1')).toEqual({ ...request('req_1', 'denied'), decidedAt: '2025-01-02T00:00:00.000Z' });
    expect(await s.getRequest('req_404')).toBeUndefined();
    expect((await s.listRequests()).map((r) => r.id)).toEqual(['req_1', 'req_2']);
    expect((await s.listRequests({ status: 'pending' })).map((r) => r.id)).toEqual(['req_2']);
    expect((await s.listRequests({ requester: 'alice' })).map((r) => r.id)).toEqual(['req_1']);
    expect((await s.listRequests({ status: 'denied', requester: 'bob' })).map((r) => r.id)).toEqual([]);
  });

  it('finds grants by login and by status; reviews too', async () => {
    fresh();
    const s = await open();
    await s.putGrant(grant('gr_a', 'alice_aaaaaa'));
    await s.putGrant(grant('gr_b', 'alice_bbbbbb'));
    expect((await s.getGrantByLogin('alice_bbbbbb'))?.id).toBe('gr_b');
    expect(await s.getGrantByLogin('alice_zzzzzz')).toBeUndefined();
    await s.putGrant({ ...grant('gr_a', 'alice_aaaaaa'), status: 'revoked', endedAt: new Date().toISOString() });
    expect((await s.listGrants({ status: 'active' })).map((g) => g.id)).toEqual(['gr_b']);
    expect((await s.listGrants()).map((g) => g.id).sort()).toEqual(['gr_a', 'gr_b']);
    await s.putReview(review('rv_1', 'pending'));
    await s.putReview(review('rv_2', 'approved'));
    expect((await s.listReviews({ status: 'pending' })).map((r) => r.id)).toEqual(['rv_1']);
    expect((await s.getReview('rv_2'))?.status).toBe('approved');
  });

  it('keeps active data without expiry and ended data for the retention period only', async () => {
    fresh();
    const s = await open(60_000);
    const g = grant('gr_t', 'alice_tttttt');
    await s.putGrant(g);
    const activeTtl = await raw.pttl(`{${prefix}}:grant:gr_t`);
    // active: until expiresAt (1 h ahead) + retention
    expect(activeTtl).toBeGreaterThan(3_600_000);
    expect(activeTtl).toBeLessThanOrEqual(3_660_000);
    expect(await raw.pttl(`{${prefix}}:login:alice_tttttt`)).toBeGreaterThan(3_600_000);
    await s.putRequest(request('req_p', 'pending'));
    expect(await raw.pttl(`{${prefix}}:request:req_p`)).toBe(-1);
    await s.putRequest(request('req_p', 'denied'));
    expect(await raw.pttl(`{${prefix}}:request:req_p`)).toBeGreaterThan(50_000);
    // a document that expired drops out of listings and indexes
    await raw.del(`{${prefix}}:request:req_p`);
    expect(await s.listRequests({ status: 'denied' })).toEqual([]);
    await new Promise((r) => setTimeout(r, 50));
    expect(await raw.smembers(`{${prefix}}:requests:status:denied`)).toEqual([]);
  });
});

describe('RedisStore guards (what two broker instances cannot do to each other)', () => {
  it('one request yields one grant, and a login names one grant', async () => {
    fresh();
    const s = await open();
    await s.putRequest(request('req_x', 'pending'));
    await s.putGrant(grant('gr_1', 'alice_111111', 'req_x'));
    const second = await rejection(s.putGrant(grant('gr_2', 'alice_222222', 'req_x')));
    expect(second.code).toBe('BRK_WRONG_STATE');
    expect(second.message).toMatch(/already has grant gr_1/);
    const sameLogin = await rejection(s.putGrant(grant('gr_3', 'alice_111111', 'req_y')));
    expect(sameLogin.code).toBe('BRK_WRONG_STATE');
    expect(await s.getGrant('gr_2')).toBeUndefined();
  });

  it('a decided request cannot get a grant or go back', async () => {
    fresh();
    const s = await open();
    await s.putRequest(request('req_d', 'denied'));
    expect((await rejection(s.putGrant(grant('gr_d', 'alice_dddddd', 'req_d')))).code).toBe('BRK_WRONG_STATE');
    await s.putRequest({ ...request('req_a', 'active'), grantId: 'gr_a' });
    expect((await rejection(s.putRequest(request('req_a', 'denied')))).code).toBe('BRK_WRONG_STATE');
    expect((await rejection(s.putRequest(request('req_a', 'pending')))).code).toBe('BRK_WRONG_STATE');
  });

  it('an ended grant is never active again; the same end twice is a no-op', async () => {
    fresh();
    const s = await open();
    const g = grant('gr_r', 'alice_rrrrrr');
    await s.putGrant(g);
    const revoked = { ...g, status: 'revoked' as const, endedAt: new Date().toISOString(), endedBy: 'bob' };
    await s.putGrant(revoked);
    expect((await rejection(s.putGrant({ ...g, expiresAt: future(7_200_000) }))).code).toBe('BRK_WRONG_STATE');
    await s.putGrant({ ...revoked, endedBy: 'carol' });
    expect((await s.getGrant('gr_r'))?.endedBy).toBe('bob');
    expect((await rejection(s.putGrant({ ...revoked, status: 'expired' }))).code).toBe('BRK_WRONG_STATE');
  });

  it('credentials are issued once', async () => {
    fresh();
    const s = await open();
    const { verifiers: _v, ...withoutPassword } = grant('gr_c', 'alice_cccccc');
    await s.putGrant(withoutPassword);
    await s.putGrant({ ...withoutPassword, verifiers: { scramSha256: 'one', mysqlNative: 'a', cachingSha2: 'b' } });
    const again = await rejection(s.putGrant({ ...withoutPassword, verifiers: { scramSha256: 'two', mysqlNative: 'a', cachingSha2: 'b' } }));
    expect(again.code).toBe('BRK_GONE');
  });

  it('an approved review is used once', async () => {
    fresh();
    const s = await open();
    await s.putReview(review('rv_u', 'approved'));
    await s.putReview(review('rv_u', 'used'));
    expect((await rejection(s.putReview(review('rv_u', 'used')))).code).toBe('BRK_WRONG_STATE');
  });

  it('approvals racing on two instances activate one grant', async () => {
    fresh();
    const config = testConfig();
    const [s1, s2] = [await open(), await open()];
    const a1 = new AccessService({ store: s1, config, audit: new MemoryAudit() });
    const a2 = new AccessService({ store: s2, config, audit: new MemoryAudit() });
    for (let round = 0; round < 5; round++) {
      const { request: r } = await a1.createRequest(alice, { target: 'app', access: 'write', ttl: '1h', reason: 'race' });
      const results = await Promise.allSettled([a1.approve(bob, r.id), a2.approve(carol, r.id)]);
      expect(results.filter((x) => x.status === 'fulfilled')).toHaveLength(1);
      const failed = results.find((x) => x.status === 'rejected') as PromiseRejectedResult;
      expect(failed.reason.code).toBe('BRK_WRONG_STATE');
      const grants = (await s1.listGrants()).filter((g) => g.requestId === r.id);
      expect(grants).toHaveLength(1);
      expect((await s2.getRequest(r.id))?.grantId).toBe(grants[0]!.id);
    }
  });
});

describe('RedisStore live sessions and pub/sub', () => {
  it('lists the sessions of every instance with a current heartbeat', async () => {
    fresh();
    const [a, b] = [await open(), await open()];
    await a.putLiveSession({ id: 'ses_1', instance: 'A', identity: 'alice' }, 5000);
    await b.replaceLiveSessions('B', [{ id: 'ses_2', instance: 'B' }, { id: 'ses_3', instance: 'B' }], 5000);
    expect((await a.listLiveSessions()).map((x) => x.id).sort()).toEqual(['ses_1', 'ses_2', 'ses_3']);
    await b.removeLiveSession('B', 'ses_2');
    await b.replaceLiveSessions('C', [{ id: 'ses_9', instance: 'C' }], 30);
    await new Promise((r) => setTimeout(r, 60));
    // C stopped beating: its sessions drop out
    expect((await b.listLiveSessions()).map((x) => x.id).sort()).toEqual(['ses_1', 'ses_3']);
    await a.dropInstance('A');
    expect((await b.listLiveSessions()).map((x) => x.id)).toEqual(['ses_3']);
  });

  it('delivers published messages to every subscribed instance', async () => {
    fresh();
    const [a, b] = [await open(), await open()];
    const got: unknown[] = [];
    await b.subscribe((m) => got.push(m));
    await new Promise((r) => setTimeout(r, 100));
    await a.publish({ type: 'grant.ended', grantId: 'gr_1' });
    for (let i = 0; i < 50 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(got).toEqual([{ type: 'grant.ended', grantId: 'gr_1' }]);
  });
});

describe('RedisStore while Redis is unreachable', () => {
  it('starts not ready, says why, and fails calls fast with BRK_STORE_UNAVAILABLE', async () => {
    const s = await RedisStore.connect({ mode: 'standalone', url: 'redis://127.0.0.1:1/0' }, { connectWaitMs: 300 });
    stores.push(s);
    expect(s.ready()).toBe(false);
    expect(s.unavailableReason()).toMatch(/^redis /);
    const t0 = Date.now();
    const e = await rejection(s.getGrantByLogin('x'));
    expect(e.code).toBe('BRK_STORE_UNAVAILABLE');
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});

describe('parseRedisSetting', () => {
  it('reads plain, sentinel and cluster URLs', () => {
    expect(parseRedisSetting('redis://127.0.0.1:6379/2')).toEqual({ mode: 'standalone', url: 'redis://127.0.0.1:6379/2' });
    expect(parseRedisSetting('redis+sentinel://:s%40cret@s1:26379,s2/mymaster/3')).toEqual({
      mode: 'sentinel', sentinels: [{ host: 's1', port: 26379 }, { host: 's2', port: 26379 }], name: 'mymaster', db: 3, password: 's@cret',
    });
    expect(parseRedisSetting('rediss+cluster://u:p@n1:7000,[::1]:7001')).toEqual({
      mode: 'cluster', nodes: [{ host: 'n1', port: 7000 }, { host: '::1', port: 7001 }], username: 'u', password: 'p', tls: true,
    });
  });

  it('reads the object form and refuses ambiguous or incomplete ones', () => {
    expect(parseRedisSetting({ sentinels: ['a:1', 'b'], name: 'm', password: 'x', keyPrefix: 'prod' })).toEqual({
      mode: 'sentinel', sentinels: [{ host: 'a', port: 1 }, { host: 'b', port: 26379 }], name: 'm', password: 'x', keyPrefix: 'prod',
    });
    expect(parseRedisSetting({ cluster: ['n1:7000'] })).toEqual({ mode: 'cluster', nodes: [{ host: 'n1', port: 7000 }] });
    expect(parseRedisSetting({ url: 'redis://h:1', keyPrefix: 'k' })).toEqual({ mode: 'standalone', url: 'redis://h:1', keyPrefix: 'k' });
    expect(() => parseRedisSetting({ url: 'redis://h', cluster: ['x'] })).toThrow(/exactly one/);
    expect(() => parseRedisSetting({ sentinels: ['a'] })).toThrow(/master name/);
    expect(() => parseRedisSetting('redis+sentinel://a:1')).toThrow(/master name/);
    expect(() => parseRedisSetting('http://x')).toThrow(/redis:\/\//);
  });
});

describe('storeRefusal: a Lua script\'s refusal travels as a BRK code', () => {
  it('reads the code and message wherever the client put the reply', () => {
    const e = storeRefusal('DBWARDEN BRK_GONE the credentials of grant g1 were already issued')!;
    expect([e.code, e.message]).toEqual(['BRK_GONE', 'the credentials of grant g1 were already issued']);
    expect(storeRefusal('ERR Error running script: DBWARDEN BRK_WRONG_STATE request r1 is denied, not pending')?.code).toBe('BRK_WRONG_STATE');
  });

  it('any other error is not a refusal (it means the store is unavailable)', () => {
    expect(storeRefusal('DBWARDEN BRK_INTERNAL x')).toBeNull();
    expect(storeRefusal('READONLY You can\'t write against a read only replica.')).toBeNull();
  });
});
