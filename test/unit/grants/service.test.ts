// Tests for the JIT access workflow: requests, approvals, one-time credentials, revoke, extend, expiry.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EmbeddedStore } from '../../../src/grants/embedded-store.js';
import type { Grant } from '../../../src/grants/model.js';
import { AccessService, type AccessServiceOptions } from '../../../src/grants/service.js';
import { createMetrics, type Metrics } from '../../../src/metrics/metrics.js';
import { alice, bob, carol, ci, mallory, MemoryAudit, MemoryStore, rejection, testConfig } from './helpers.js';

const T0 = Date.parse('2025-03-01T10:00:00.000Z');
const MIN = 60_000;

let clock: number;
let store: MemoryStore;
let audit: MemoryAudit;
let metrics: Metrics;
let ended: [Grant, string][];
let service: AccessService;

function makeService(extra: Partial<AccessServiceOptions> = {}): AccessService {
  return new AccessService({
    store, config: testConfig(), audit, metrics, now: () => clock,
    onGrantEnded: (g, reason) => ended.push([g, reason]),
    ...extra,
  });
}

beforeEach(() => {
  clock = T0;
  store = new MemoryStore();
  audit = new MemoryAudit();
  metrics = createMetrics();
  ended = [];
  service = makeService();
});

async function gauge(target: string, access: string): Promise<number> {
  const m = await metrics.grantsActive.get();
  return m.values.find((v) => v.labels.target === target && v.labels.access === access)?.value ?? 0;
}
async function requestsCounted(status: string): Promise<number> {
  const m = await metrics.grantRequests.get();
  return m.values.find((v) => v.labels.status === status)?.value ?? 0;
}

describe('createRequest with approvals: 0', () => {
  it('activates at once and returns credentials', async () => {
    const { request, grant } = await service.createRequest(alice, { target: 'app', access: 'read', ttl: '1h', reason: 'debug ticket 42' });
    expect(request).toMatchObject({ requester: 'alice', status: 'active', policy: 'read-self-service', databases: ['app'], ttlMs: 3_600_000, credentialsIssued: true });
    expect(request.id).toMatch(/^req_[a-z2-9]{16}$/);
    expect(grant).toBeDefined();
    expect(grant!.grantId).toMatch(/^gr_[a-z2-9]{16}$/);
    expect(grant!.grantId).toBe(request.grantId);
    expect(grant!.login).toMatch(/^alice_[a-z0-9]{6}$/);
    expect(grant!.password.length).toBeGreaterThanOrEqual(27); // 27 base62 chars ≥ 160 bits
    expect(grant!).toMatchObject({ target: 'app', access: 'read', databases: ['app'], expiresAt: '2025-03-01T11:00:00.000Z' });

    // the password exists only in the answer: the store keeps verifiers
    const stored = store.grants.get(grant!.grantId)!;
    expect(stored.verifiers?.scramSha256).toMatch(/^SCRAM-SHA-256\$/);
    expect(JSON.stringify([...store.grants.values(), ...store.requests.values()])).not.toContain(grant!.password);
    expect(JSON.stringify(audit.events)).not.toContain(grant!.password);

    expect(audit.types()).toEqual(['grant.requested', 'grant.activated']);
    expect(audit.events[1]).toMatchObject({ actor: 'policy:read-self-service', grantId: grant!.grantId, identity: 'alice', login: grant!.login });
    expect(await requestsCounted('active')).toBe(1);
    expect(await requestsCounted('pending')).toBe(0);
    expect(await gauge('app', 'read')).toBe(1);
    expect((await service.findGrantForLogin(grant!.login))?.id).toBe(grant!.grantId);
  });

  it('gives unique logins of at most 32 characters', async () => {
    const logins = new Set<string>();
    for (let i = 0; i < 25; i++) {
      const { grant } = await service.createRequest(ci, { target: 'app', access: 'read', ttl: '5m', reason: `job ${i}` });
      logins.add(grant!.login);
    }
    expect(logins.size).toBe(25);
    const longName = { name: 'a-very-long-identity-name-for-a-ci-runner', groups: ['dev'] };
    const { grant } = await service.createRequest(longName, { target: 'app', access: 'read', ttl: '5m', reason: 'x' });
    expect(grant!.login.length).toBeLessThanOrEqual(32);
    expect(grant!.login).toMatch(/^[a-z][a-z0-9_]*$/);
  });

  it('accepts databases the target offers and records alert policies', async () => {
    const { request } = await service.createRequest(alice, { target: 'app', access: 'read', ttl: '10m', reason: 'r', databases: ['reporting', 'app', 'reporting'] });
    expect(request.databases).toEqual(['reporting', 'app']);
    const { request: bg } = await service.createRequest(bob, { target: 'app', access: 'admin', ttl: '30m', reason: 'incident' });
    expect(bg).toMatchObject({ status: 'active', alert: true, policy: 'break-glass' });
  });
});

describe('createRequest refusals', () => {
  it.each([
    [{ target: 'nope', access: 'read', ttl: '1h', reason: 'r' }, 'BRK_BAD_REQUEST', 'unknown target "nope"'],
    [{ target: 'app', access: 'root', ttl: '1h', reason: 'r' }, 'BRK_BAD_REQUEST', 'access must be one of read|write|admin'],
    [{ target: 'app', access: 'read', ttl: 'soon', reason: 'r' }, 'BRK_BAD_REQUEST', 'ttl: invalid duration "soon"'],
    [{ target: 'app', access: 'read', ttl: '1h', reason: '  ' }, 'BRK_BAD_REQUEST', 'reason is required'],
    [{ target: 'app', access: 'read', ttl: '1h', reason: 'r', databases: ['app', 'secret'] }, 'BRK_BAD_REQUEST', 'target "app" does not offer database "secret"'],
    [{ target: 'app', access: 'admin', ttl: '10m', reason: 'r' }, 'BRK_FORBIDDEN', 'no access policy lets alice request admin on app'],
    [{ target: 'shop', access: 'admin', ttl: '10m', reason: 'r' }, 'BRK_FORBIDDEN', 'no access policy lets alice request admin on shop'],
    [{ target: 'app', access: 'read', ttl: '9h', reason: 'r' }, 'BRK_POLICY_LIMIT', 'ttl 9h exceeds the maximum of 8h set by policy read-self-service'],
  ])('%o → %s', async (body, code, message) => {
    const err = await rejection(service.createRequest(alice, body as never));
    expect(err.code).toBe(code);
    expect(err.message).toContain(message);
    expect(store.requests.size).toBe(0);
  });

  it('refuses identities no policy names', async () => {
    const err = await rejection(service.createRequest(mallory, { target: 'app', access: 'read', ttl: '1h', reason: 'r' }));
    expect(err).toEqual({ code: 'BRK_FORBIDDEN', message: 'no access policy lets mallory request read on app' });
  });
});

describe('approval flow', () => {
  async function pendingWrite() {
    const { request, grant } = await service.createRequest(alice, { target: 'app', access: 'write', ttl: '1h', reason: 'migration' });
    expect(grant).toBeUndefined();
    expect(request).toMatchObject({ status: 'pending', approvalsRequired: 1, approvers: ['group:dba'], credentialsIssued: false });
    return request;
  }

  it('refuses self-approval and non-approvers', async () => {
    const request = await pendingWrite();
    const selfApproval = await rejection(service.approve(alice, request.id));
    expect(selfApproval).toEqual({ code: 'BRK_FORBIDDEN', message: 'you cannot approve your own request' });
    expect((await rejection(service.approve(ci, request.id))).code).toBe('BRK_FORBIDDEN');
    expect((await service.getRequest(request.id)).status).toBe('pending');
  });

  it('refuses self-approval even by someone in the approver group', async () => {
    const dbaRequester = { name: 'bob', groups: ['dba', 'dev'] };
    const { request } = await service.createRequest(dbaRequester, { target: 'app', access: 'write', ttl: '1h', reason: 'x' });
    expect((await rejection(service.approve(dbaRequester, request.id))).code).toBe('BRK_FORBIDDEN');
  });

  it('activates on approval, then hands out the password once', async () => {
    const request = await pendingWrite();
    clock += 5 * MIN;
    const approved = await service.approve(bob, request.id, 'looks fine');
    expect(approved.status).toBe('active');
    expect(approved.grantId).toMatch(/^gr_/);
    expect(approved.approvals).toEqual([{ by: 'bob', at: '2025-03-01T10:05:00.000Z', decision: 'approve', comment: 'looks fine' }]);
    expect(JSON.stringify(approved)).not.toMatch(/password/);

    const grant = await service.getGrant(approved.grantId!);
    expect(grant.activatedAt).toBe('2025-03-01T10:05:00.000Z');
    expect(grant.expiresAt).toBe('2025-03-01T11:05:00.000Z');
    // no password issued yet: the login cannot be used
    expect(await service.findGrantForLogin(grant.login)).toBeUndefined();

    expect((await rejection(service.issueCredentials(bob, request.id))).code).toBe('BRK_FORBIDDEN');
    const creds = await service.issueCredentials(alice, request.id);
    expect(creds).toMatchObject({ grantId: grant.id, login: grant.login, expiresAt: grant.expiresAt, target: 'app', access: 'write', databases: ['app'] });
    expect(creds.password.length).toBeGreaterThanOrEqual(27);
    expect((await service.findGrantForLogin(grant.login))?.verifiers?.mysqlNative).toMatch(/^[0-9a-f]{40}$/i);

    const again = await rejection(service.issueCredentials(alice, request.id));
    expect(again.code).toBe('BRK_GONE');
    expect(audit.types()).toEqual(['grant.requested', 'grant.approved', 'grant.activated', 'admin.credentials.issued']);
    expect(audit.events[2]).toMatchObject({ actor: 'bob' });
    expect(await requestsCounted('pending')).toBe(1);
    expect(await requestsCounted('active')).toBe(1);
  });

  it('answers 409 for credentials of a pending request and 404 for unknown ids', async () => {
    const request = await pendingWrite();
    expect((await rejection(service.issueCredentials(alice, request.id))).code).toBe('BRK_WRONG_STATE');
    expect((await rejection(service.approve(bob, 'req_missing'))).code).toBe('BRK_NOT_FOUND');
    expect((await rejection(service.getRequest('req_missing'))).code).toBe('BRK_NOT_FOUND');
  });

  it('counts distinct approvers', async () => {
    const { request } = await service.createRequest(alice, { target: 'shop', access: 'write', ttl: '30m', reason: 'fix order' });
    expect(request.approvalsRequired).toBe(2);
    expect((await service.approve(bob, request.id)).status).toBe('pending');
    expect((await rejection(service.approve(bob, request.id))).code).toBe('BRK_WRONG_STATE');
    expect((await service.getRequest(request.id)).approvals).toHaveLength(1);
    expect((await service.approve(carol, request.id)).status).toBe('active');
  });

  it('serialises concurrent approvals into one grant', async () => {
    const { request } = await service.createRequest(alice, { target: 'app', access: 'write', ttl: '30m', reason: 'x' });
    const results = await Promise.allSettled([service.approve(bob, request.id), service.approve(carol, request.id)]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(store.grants.size).toBe(1);
  });

  it('deny ends a pending request', async () => {
    const request = await pendingWrite();
    expect((await rejection(service.deny(ci, request.id))).code).toBe('BRK_FORBIDDEN');
    const denied = await service.deny(bob, request.id, 'not during the freeze');
    expect(denied.status).toBe('denied');
    expect(denied.approvals[0]).toMatchObject({ by: 'bob', decision: 'deny', comment: 'not during the freeze' });
    expect((await rejection(service.approve(carol, request.id))).code).toBe('BRK_WRONG_STATE');
    expect((await rejection(service.issueCredentials(alice, request.id))).code).toBe('BRK_WRONG_STATE');
    expect(audit.types().at(-1)).toBe('grant.denied');
    expect(await requestsCounted('denied')).toBe(1);
    expect((await service.listRequests({ status: 'denied' })).map((r) => r.id)).toEqual([request.id]);
  });

  it('lets a requester withdraw their own request', async () => {
    const request = await pendingWrite();
    expect((await service.deny(alice, request.id)).status).toBe('denied');
  });
});

describe('revoke', () => {
  it('ends the grant, its logins and calls onGrantEnded', async () => {
    const { grant } = await service.createRequest(alice, { target: 'app', access: 'read', ttl: '1h', reason: 'r' });
    expect((await rejection(service.revoke(ci, grant!.grantId))).code).toBe('BRK_FORBIDDEN');
    expect(ended).toEqual([]);

    clock += MIN;
    const revoked = await service.revoke(bob, grant!.grantId, 'done');
    expect(revoked).toMatchObject({ status: 'revoked', endedBy: 'bob', endedAt: '2025-03-01T10:01:00.000Z' });
    expect(revoked.verifiers).toBeUndefined();
    expect(ended).toHaveLength(1);
    expect(ended[0]![1]).toBe('revoked');
    expect(ended[0]![0].id).toBe(grant!.grantId);
    expect(await service.findGrantForLogin(grant!.login)).toBeUndefined();
    expect((await service.getRequest(revoked.requestId)).status).toBe('revoked');
    expect(audit.events.at(-1)).toMatchObject({ type: 'grant.revoked', actor: 'bob', grantId: grant!.grantId, reason: 'done' });
    expect(await gauge('app', 'read')).toBe(0);
    expect((await rejection(service.revoke(bob, grant!.grantId))).code).toBe('BRK_WRONG_STATE');
    expect((await rejection(service.revoke(bob, 'gr_missing'))).code).toBe('BRK_NOT_FOUND');
  });

  it('goes ahead of grant requests already waiting for the store', async () => {
    const { grant } = await service.createRequest(alice, { target: 'app', access: 'read', ttl: '1h', reason: 'r' });
    const order: string[] = [];
    // a burst of requests is queued first; the revoke filed after them must not wait for all of them
    const requests = Array.from({ length: 5 }, (_, i) =>
      service.createRequest(alice, { target: 'app', access: 'read', ttl: '1h', reason: `burst ${i}` }).then(() => order.push(`request ${i}`)),
    );
    const revoke = service.revoke(bob, grant!.grantId).then(() => order.push('revoke'));
    await Promise.all([...requests, revoke]);
    // the first request was already running when the revoke arrived; the revoke runs right after it
    expect(order.indexOf('revoke')).toBeLessThanOrEqual(1);
    expect(order).toHaveLength(6);
    expect(ended.map(([g, r]) => [g.id, r])).toEqual([[grant!.grantId, 'revoked']]);
  });

  it('keeps the queue going after an operation that failed', async () => {
    const failed = rejection(service.revoke(bob, 'gr_missing'));
    const next = service.createRequest(alice, { target: 'app', access: 'read', ttl: '1h', reason: 'r' });
    expect((await failed).code).toBe('BRK_NOT_FOUND');
    expect((await next).grant?.grantId).toBeTruthy();
  });

  it('lets the grantee revoke their own grant and survives a throwing listener', async () => {
    const errors: unknown[] = [];
    service = makeService({ onGrantEnded: () => { throw new Error('listener broke'); }, onError: (e) => errors.push(e) });
    const { grant } = await service.createRequest(alice, { target: 'app', access: 'read', ttl: '1h', reason: 'r' });
    expect((await service.revoke(alice, grant!.grantId)).status).toBe('revoked');
    expect(errors).toHaveLength(1);
  });
});

describe('grant listings', () => {
  it('lists live grants without verifiers unless all', async () => {
    const a = await service.createRequest(alice, { target: 'app', access: 'read', ttl: '1h', reason: 'r' });
    const b = await service.createRequest(ci, { target: 'app', access: 'read', ttl: '1h', reason: 'r' });
    await service.revoke(ci, b.grant!.grantId);
    const live = await service.listGrants();
    expect(live.map((g) => g.id)).toEqual([a.grant!.grantId]);
    expect(live[0]!.verifiers).toBeUndefined();
    expect((await service.listGrants({ all: true })).map((g) => g.status)).toEqual(['active', 'revoked']);
    expect((await service.getGrant(a.grant!.grantId)).verifiers).toBeUndefined();
  });
});

describe('extend', () => {
  it('extends within the policy maxTtl counted from activation', async () => {
    const extendedGrants: Grant[] = [];
    service = makeService({ onGrantExtended: (g) => extendedGrants.push(g) });
    const { grant } = await service.createRequest(alice, { target: 'app', access: 'read', ttl: '6h', reason: 'r' });
    const extended = await service.extend(alice, grant!.grantId, '1h30m');
    expect(extended.expiresAt).toBe('2025-03-01T17:30:00.000Z');
    expect(extendedGrants.map((g) => [g.id, g.expiresAt])).toEqual([[grant!.grantId, '2025-03-01T17:30:00.000Z']]);
    expect(audit.events.at(-1)).toMatchObject({ type: 'grant.extended', expiresAt: '2025-03-01T17:30:00.000Z', previousExpiresAt: '2025-03-01T16:00:00.000Z' });
    const err = await rejection(service.extend(alice, grant!.grantId, '31m'));
    expect(err.code).toBe('BRK_POLICY_LIMIT');
    expect(err.message).toContain('8h');
    expect((await service.extend(alice, grant!.grantId, '30m')).expiresAt).toBe('2025-03-01T18:00:00.000Z');
    expect((await service.findGrantForLogin(grant!.login))?.expiresAt).toBe('2025-03-01T18:00:00.000Z');
  });

  it('needs an approver for grants that needed approval', async () => {
    const { request } = await service.createRequest(alice, { target: 'app', access: 'write', ttl: '1h', reason: 'r' });
    await service.approve(bob, request.id);
    const grantId = (await service.getRequest(request.id)).grantId!;
    expect((await rejection(service.extend(alice, grantId, '15m'))).code).toBe('BRK_FORBIDDEN');
    expect((await rejection(service.extend(ci, grantId, '15m'))).code).toBe('BRK_FORBIDDEN');
    expect((await service.extend(carol, grantId, '15m')).expiresAt).toBe('2025-03-01T11:15:00.000Z');
    expect((await rejection(service.extend(carol, grantId, '1h'))).code).toBe('BRK_POLICY_LIMIT');
    expect((await rejection(service.extend(carol, grantId, 'later'))).code).toBe('BRK_BAD_REQUEST');
  });

  it('refuses grants past their expiry', async () => {
    const { grant } = await service.createRequest(alice, { target: 'app', access: 'read', ttl: '10m', reason: 'r' });
    clock += 11 * MIN;
    expect((await rejection(service.extend(alice, grant!.grantId, '5m'))).code).toBe('BRK_WRONG_STATE');
  });
});

describe('sweepExpired', () => {
  it('expires grants at expiresAt with a fake clock', async () => {
    const short = await service.createRequest(alice, { target: 'app', access: 'read', ttl: '10m', reason: 'r' });
    const long = await service.createRequest(ci, { target: 'app', access: 'read', ttl: '1h', reason: 'r' });
    expect(await gauge('app', 'read')).toBe(2);

    clock += 10 * MIN - 1;
    expect(await service.sweepExpired()).toEqual([]);
    expect(await service.findGrantForLogin(short.grant!.login)).toBeDefined();

    clock += 1;
    // expired by the clock even before the sweep marks it
    expect(await service.findGrantForLogin(short.grant!.login)).toBeUndefined();
    const swept = await service.sweepExpired();
    expect(swept.map((g) => [g.id, g.status, g.endedBy])).toEqual([[short.grant!.grantId, 'expired', 'system']]);
    expect(ended.map(([g, r]) => [g.id, r])).toEqual([[short.grant!.grantId, 'expired']]);
    expect(audit.events.at(-1)).toMatchObject({ type: 'grant.expired', actor: 'system', grantId: short.grant!.grantId });
    expect((await service.getRequest(short.request.id)).status).toBe('expired');
    expect(await gauge('app', 'read')).toBe(1);
    expect(await service.sweepExpired()).toEqual([]);
    expect(ended).toHaveLength(1);

    clock += 60 * MIN;
    expect((await service.sweepExpired()).map((g) => g.id)).toEqual([long.grant!.grantId]);
    expect(await gauge('app', 'read')).toBe(0);
    expect(await requestsCounted('expired')).toBe(2);
  });

  it('resyncs the active gauge from the store', async () => {
    const other = makeService({ metrics: createMetrics() });
    await other.createRequest(alice, { target: 'shop', access: 'read', ttl: '1h', reason: 'r' });
    expect(await gauge('shop', 'read')).toBe(0); // created through another instance
    await service.sweepExpired();
    expect(await gauge('shop', 'read')).toBe(1);
  });
});

describe('restart persistence with EmbeddedStore', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'dbwarden-grants-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('finds grants and pending requests after a reopen, and expires from stored data', async () => {
    const first = EmbeddedStore.open(dir);
    const s1 = new AccessService({ store: first, config: testConfig(), audit, now: () => clock });
    const { grant } = await s1.createRequest(alice, { target: 'app', access: 'read', ttl: '15m', reason: 'r' });
    const { request: pending } = await s1.createRequest(alice, { target: 'app', access: 'write', ttl: '1h', reason: 'w' });
    await first.close();

    const second = EmbeddedStore.open(dir);
    const onEnd = vi.fn();
    const s2 = new AccessService({ store: second, config: testConfig(), audit, now: () => clock, onGrantEnded: onEnd });
    const found = await s2.findGrantForLogin(grant!.login);
    expect(found?.id).toBe(grant!.grantId);
    expect(found?.verifiers?.cachingSha2).toMatch(/^[0-9a-f]{64}$/i);
    expect((await s2.getRequest(pending.id)).status).toBe('pending');

    const approved = await s2.approve(bob, pending.id);
    const creds = await s2.issueCredentials(alice, pending.id);
    expect(creds.grantId).toBe(approved.grantId);

    clock += 16 * MIN;
    expect((await s2.sweepExpired()).map((g) => g.id)).toEqual([grant!.grantId]);
    expect(onEnd).toHaveBeenCalledWith(expect.objectContaining({ id: grant!.grantId, status: 'expired' }), 'expired');
    await second.close();

    const third = EmbeddedStore.open(dir);
    expect((await third.getGrant(grant!.grantId))?.status).toBe('expired');
    expect((await third.getRequest(pending.id))?.credentialsIssued).toBe(true);
    await third.close();
  });
});
