// Tests for the SQLite GrantStore: round trips, filters, login lookup and survival across a reopen.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedStore } from '../../../src/grants/embedded-store.js';
import type { AccessRequest, Grant, ReviewRecord } from '../../../src/grants/model.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'dbwarden-store-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const request = (id: string, status: AccessRequest['status'], requester = 'alice'): AccessRequest => ({
  id, requester, requesterGroups: ['dev'], target: 'app', access: 'read', databases: ['app'], ttlMs: 60_000, reason: 'debug',
  status, policy: 'p', approvalsRequired: 0, approvers: [], approvals: [], createdAt: `2025-01-01T00:00:0${id.slice(-1)}.000Z`,
  credentialsIssued: false, alert: false,
});
const grant = (id: string, login: string, status: Grant['status'] = 'active'): Grant => ({
  id, requestId: 'req_1', identity: 'alice', groups: ['dev'], target: 'app', access: 'read', databases: ['app'], login,
  verifiers: { scramSha256: 'SCRAM-SHA-256$4096:c2FsdA==$a:b', mysqlNative: 'ab', cachingSha2: 'cd' },
  activatedAt: '2025-01-01T00:00:00.000Z', expiresAt: '2025-01-01T01:00:00.000Z', status,
});
const review = (id: string, status: ReviewRecord['status']): ReviewRecord => ({
  id, grantId: 'gr_1', identity: 'alice', target: 'app', text: 'DELETE FROM t', ruleIds: ['unscoped-write'], status, createdAt: '2025-01-01T00:00:00.000Z',
});

describe('EmbeddedStore', () => {
  it('creates <dir>/dbwarden.db in WAL mode', async () => {
    const dir = join(tempDir(), 'nested', 'state');
    const store = EmbeddedStore.open(dir);
    expect(store.kind).toBe('embedded');
    expect(store.ready()).toBe(true);
    await store.close();
    expect(store.ready()).toBe(false);
    expect(existsSync(join(dir, 'dbwarden.db'))).toBe(true);
    const raw = new Database(join(dir, 'dbwarden.db'));
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(raw.prepare('SELECT name FROM sqlite_master WHERE type = ? ORDER BY name').pluck().all('table')).toEqual(['grants', 'requests', 'reviews']);
    raw.close();
  });

  it('round-trips and updates requests, with status and requester filters', async () => {
    const store = EmbeddedStore.open(tempDir());
    await store.putRequest(request('req_1', 'pending'));
    await store.putRequest(request('req_2', 'active', 'bob'));
    await store.putRequest({ ...request('req_1', 'denied'), decidedAt: '2025-01-02T00:00:00.000Z' });
    expect(await store.getRequest('req_1')).toEqual({ ...request('req_1', 'denied'), decidedAt: '2025-01-02T00:00:00.000Z' });
    expect(await store.getRequest('req_404')).toBeUndefined();
    expect((await store.listRequests()).map((r) => r.id)).toEqual(['req_1', 'req_2']);
    expect((await store.listRequests({ status: 'pending' })).map((r) => r.id)).toEqual([]);
    expect((await store.listRequests({ status: 'active' })).map((r) => r.id)).toEqual(['req_2']);
    expect((await store.listRequests({ requester: 'alice' })).map((r) => r.id)).toEqual(['req_1']);
    expect((await store.listRequests({ status: 'active', requester: 'alice' })).map((r) => r.id)).toEqual([]);
    await store.close();
  });

  it('finds grants by id and login, filters by status, and keeps logins unique', async () => {
    const store = EmbeddedStore.open(tempDir());
    await store.putGrant(grant('gr_1', 'alice_aaaaaa'));
    await store.putGrant(grant('gr_2', 'alice_bbbbbb', 'revoked'));
    expect((await store.getGrantByLogin('alice_bbbbbb'))?.id).toBe('gr_2');
    expect(await store.getGrantByLogin('alice_zzzzzz')).toBeUndefined();
    expect((await store.listGrants({ status: 'active' })).map((g) => g.id)).toEqual(['gr_1']);
    expect((await store.listGrants()).map((g) => g.id)).toEqual(['gr_1', 'gr_2']);
    await expect(store.putGrant(grant('gr_3', 'alice_aaaaaa'))).rejects.toThrow(/UNIQUE/);
    await store.close();
  });

  it('stores reviews', async () => {
    const store = EmbeddedStore.open(tempDir());
    await store.putReview(review('rv_1', 'pending'));
    await store.putReview(review('rv_2', 'approved'));
    await store.putReview({ ...review('rv_1', 'used') });
    expect((await store.getReview('rv_1'))?.status).toBe('used');
    expect((await store.listReviews({ status: 'approved' })).map((r) => r.id)).toEqual(['rv_2']);
    expect(await store.listReviews()).toHaveLength(2);
    await store.close();
  });

  it('keeps everything across close and reopen', async () => {
    const dir = tempDir();
    const first = EmbeddedStore.open(dir);
    await first.putRequest(request('req_1', 'active'));
    await first.putGrant(grant('gr_1', 'alice_cccccc'));
    await first.putReview(review('rv_1', 'pending'));
    await first.close();

    const second = EmbeddedStore.open(dir);
    expect(await second.getRequest('req_1')).toEqual(request('req_1', 'active'));
    expect(await second.getGrantByLogin('alice_cccccc')).toEqual(grant('gr_1', 'alice_cccccc'));
    expect((await second.getReview('rv_1'))?.text).toBe('DELETE FROM t');
    await second.close();
  });
});
