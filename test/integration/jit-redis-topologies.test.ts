// The Redis store on real Sentinel and Cluster set-ups (redis-server processes on loopback ports): two broker
// instances share grants, a revoke on one ends sessions on the other within a second, and with Sentinel a failover
// of the primary in the middle loses no grant and leaves logins, revokes and fan-out working.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestBroker } from '../helpers/broker.js';
import { startRedisCluster, startSentinelSetup, type RedisClusterSetup, type SentinelSetup } from '../helpers/redis-topologies.js';
import { api, cleanupDirs, connect, grantFor, startJitBroker, until } from './jit-helpers.js';

async function revokeEndsRemoteSession(a: TestBroker, b: TestBroker): Promise<void> {
  const cred = await grantFor(a, 'alice', { access: 'read', ttl: '5m' });
  const s = await connect(b, cred);
  expect((await s.client.query('select 1 as n')).rows[0].n).toBe(1);
  const t0 = Date.now();
  const r = await api(a, 'bob', 'POST', `/v1/grants/${cred.grantId}/revoke`, {});
  expect(r.status).toBe(200);
  const err = await s.ended;
  expect(err.message).toMatch(/grant revoked/);
  expect(s.endedAt()! - t0).toBeLessThan(1000);
}

describe('Redis Sentinel (1 primary, 1 replica, 3 sentinels)', () => {
  let sentinel: SentinelSetup;
  let a: TestBroker;
  let b: TestBroker;

  beforeAll(async () => {
    sentinel = await startSentinelSetup();
    a = await startJitBroker({ redis: sentinel.setting, instanceId: 'sentinel-a' });
    b = await startJitBroker({ redis: sentinel.setting, instanceId: 'sentinel-b' });
  }, 90_000);
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await sentinel?.close();
    cleanupDirs();
  });

  it('both instances use the store through Sentinel and see each other', async () => {
    expect(a.store.kind).toBe('redis');
    expect((await fetch(`${b.admin.url}/readyz`)).status).toBe(200);
    await revokeEndsRemoteSession(a, b);
  });

  it('a failover of the primary loses no replicated grant; logins, revokes and fan-out work afterwards', async () => {
    const kept = await grantFor(a, 'alice', { access: 'read', ttl: '10m' });
    const live = await connect(b, kept);
    const before = await sentinel.currentPrimaryPort();
    // Redis replicates asynchronously: a write acknowledged just before the primary dies may never reach the replica
    // (a loaded CI run lost the grant that way). A barrier write acknowledged by the replica (WAIT) follows every
    // earlier write in the replication stream, so the grant is on the replica before the primary is killed.
    const direct = new Redis({ host: '127.0.0.1', port: before });
    try {
      await direct.set('dbw:test:replication-barrier', String(Date.now()));
      expect(Number(await direct.call('WAIT', '1', '10000'))).toBe(1);
    } finally {
      direct.disconnect();
    }
    await sentinel.failover();
    expect(await sentinel.currentPrimaryPort()).not.toBe(before);
    // the grant made before the failover is still there (the replica had it) and still logs in on both instances
    await until('login after failover', async () => {
      try {
        const s = await connect(a, kept);
        await s.client.end();
        return true;
      } catch {
        return false;
      }
    }, 30_000, 250);
    const listed = await api(b, 'bob', 'GET', '/v1/grants');
    expect(listed.status).toBe(200);
    expect(JSON.stringify(listed.body)).toContain(kept.grantId);
    // the live session went on through the failover
    expect((await live.client.query('select 2 as n')).rows[0].n).toBe(2);
    // new grants, revokes and cross-instance fan-out on the new primary (subscriptions renewed)
    await until('revoke fan-out after failover', async () => {
      try {
        await revokeEndsRemoteSession(a, b);
        return true;
      } catch {
        return false;
      }
    }, 20_000, 500);
    await live.client.end();
  }, 90_000);
});

describe('Redis Cluster (3 primaries)', () => {
  let cluster: RedisClusterSetup;
  let a: TestBroker;
  let b: TestBroker;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    a = await startJitBroker({ redis: cluster.setting, instanceId: 'cluster-a' });
    b = await startJitBroker({ redis: cluster.setting, instanceId: 'cluster-b' });
  }, 90_000);
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await cluster?.close();
    cleanupDirs();
  });

  it('requests, approvals, listings and sessions across instances', async () => {
    expect(a.store.kind).toBe('redis');
    const pending = await api(a, 'alice', 'POST', '/v1/requests', { target: 'app', access: 'write', ttl: '10m', reason: 'cluster test', databases: ['dbw_app'] });
    expect(pending.status).toBe(201);
    expect(pending.body.request.status).toBe('pending');
    const approved = await api(b, 'bob', 'POST', `/v1/requests/${pending.body.request.id}/approve`, {});
    expect(approved.status).toBe(200);
    const cred = await api(a, 'alice', 'POST', `/v1/requests/${pending.body.request.id}/credentials`, {});
    expect(cred.status).toBe(200);
    const s = await connect(b, cred.body);
    expect((await s.client.query('select current_user as u')).rows[0].u).toBe('dbw_rw');
    const sessions = await api(a, 'bob', 'GET', '/v1/sessions');
    expect(JSON.stringify(sessions.body)).toContain('cluster-b');
    await s.client.end();
  });

  it('a revoke on one instance ends the session on the other within one second', async () => {
    await revokeEndsRemoteSession(a, b);
    await revokeEndsRemoteSession(b, a);
  });
});
