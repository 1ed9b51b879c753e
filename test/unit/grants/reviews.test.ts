// ReviewService: synchronous filing, approver rules, one use per approval within 15 minutes, restart from the store.
import { beforeEach, describe, expect, it } from 'vitest';
import type { AccessRequest, Grant } from '../../../src/grants/model.js';
import { REVIEW_VALIDITY_MS, ReviewService } from '../../../src/grants/reviews.js';
import { MemoryAudit, MemoryStore, alice, bob, carol, ci, mallory, rejection, testConfig } from './helpers.js';

const T0 = Date.parse('2030-01-01T00:00:00Z');

function grantOf(over: Partial<Grant> = {}): Grant {
  return {
    id: 'gr_1', requestId: 'req_1', identity: 'alice', groups: ['dev'], target: 'app', access: 'write', databases: ['app'], login: 'alice_abcdef',
    activatedAt: new Date(T0).toISOString(), expiresAt: new Date(T0 + 3_600_000).toISOString(), status: 'active', ...over,
  };
}

function requestOf(over: Partial<AccessRequest> = {}): AccessRequest {
  return {
    id: 'req_1', requester: 'alice', requesterGroups: ['dev'], target: 'app', access: 'write', databases: ['app'], ttlMs: 3_600_000, reason: 'r',
    status: 'active', policy: 'write-needs-dba', approvalsRequired: 1, approvers: ['group:dba'], approvals: [], createdAt: new Date(T0).toISOString(),
    credentialsIssued: true, alert: false, grantId: 'gr_1', ...over,
  };
}

let store: MemoryStore;
let audit: MemoryAudit;
let now: number;
let svc: ReviewService;
const UPDATE = 'update accounts set balance = 0 where id = 7';

beforeEach(async () => {
  store = new MemoryStore();
  audit = new MemoryAudit();
  now = T0 + 1000;
  await store.putGrant(grantOf());
  await store.putRequest(requestOf());
  svc = new ReviewService({ store, config: testConfig(), audit, now: () => now });
});

const file = (text = UPDATE, grant = grantOf()) => svc.request({ grant, session: 'ses_1', text, ruleIds: ['accounts-review'] });

describe('filing a review', () => {
  it('returns an id at once, audits review.requested synchronously and stores the record in the background', async () => {
    const r = file();
    expect(r.id).toMatch(/^rv_[a-z2-9]{16}$/);
    expect(r).toMatchObject({ status: 'pending', grantId: 'gr_1', identity: 'alice', target: 'app', text: UPDATE, ruleIds: ['accounts-review'], session: 'ses_1' });
    expect(audit.events).toEqual([expect.objectContaining({ type: 'review.requested', review: r.id, grant: 'gr_1', actor: 'alice', rules: ['accounts-review'] })]);
    await svc.flush();
    expect((await store.getReview(r.id))?.status).toBe('pending');
  });

  it('a retried statement points at the review already pending; another text or grant gets its own', () => {
    const a = file();
    expect(file().id).toBe(a.id);
    expect(file(UPDATE + ' ').id).not.toBe(a.id);
    expect(file(UPDATE, grantOf({ id: 'gr_2' })).id).not.toBe(a.id);
    expect(audit.types().filter((t) => t === 'review.requested')).toHaveLength(3);
  });
});

describe('deciding', () => {
  it('an approver of the grant\'s policy approves; the statement then passes exactly once', async () => {
    const r = file();
    const approved = await svc.approve(bob, r.id, 'looks fine');
    expect(approved).toMatchObject({ status: 'approved', decidedBy: 'bob', comment: 'looks fine', validUntil: new Date(now + REVIEW_VALIDITY_MS).toISOString() });
    expect(audit.events.at(-1)).toMatchObject({ type: 'review.approved', review: r.id, actor: 'bob', identity: 'alice', grant: 'gr_1' });
    expect(svc.consume('gr_2', UPDATE)).toBeUndefined();
    expect(svc.consume('gr_1', UPDATE + ';')).toBeUndefined();
    const used = svc.consume('gr_1', UPDATE);
    expect(used).toMatchObject({ id: r.id, status: 'used', decidedBy: 'bob' });
    expect(svc.consume('gr_1', UPDATE)).toBeUndefined();
    await svc.flush();
    expect((await store.getReview(r.id))?.status).toBe('used');
    // once used, a new attempt files a fresh review
    expect(file().id).not.toBe(r.id);
  });

  it('the statement\'s author cannot approve it, even when they are an approver of the policy', async () => {
    await store.putGrant(grantOf({ identity: 'carol', groups: ['dba'] }));
    const r = file(UPDATE, grantOf({ identity: 'carol', groups: ['dba'] }));
    expect(await rejection(svc.approve(carol, r.id))).toMatchObject({ code: 'BRK_FORBIDDEN', message: expect.stringMatching(/own statement/) });
    expect((await svc.get(r.id)).status).toBe('pending');
  });

  it('someone the policy does not list as approver gets 403', async () => {
    const r = file();
    expect((await rejection(svc.approve(ci, r.id))).code).toBe('BRK_FORBIDDEN');
    expect((await rejection(svc.approve(mallory, r.id))).code).toBe('BRK_FORBIDDEN');
    expect((await rejection(svc.deny(mallory, r.id))).code).toBe('BRK_FORBIDDEN');
  });

  it('uses the current config: an approver removed from the policy can no longer approve', async () => {
    const config = testConfig();
    config.access = config.access.map((p) => (p.name === 'write-needs-dba' ? { ...p, approvers: ['carol'] } : p));
    svc = new ReviewService({ store, config, audit, now: () => now });
    const r = file();
    expect((await rejection(svc.approve(bob, r.id))).code).toBe('BRK_FORBIDDEN');
    expect((await svc.approve(carol, r.id)).status).toBe('approved');
  });

  it('denial by an approver or withdrawal by the author; decided reviews answer 409, unknown ones 404', async () => {
    const r = file();
    const d = await svc.deny(bob, r.id, 'no');
    expect(d).toMatchObject({ status: 'denied', decidedBy: 'bob', comment: 'no' });
    expect(audit.events.at(-1)).toMatchObject({ type: 'review.denied', actor: 'bob', review: r.id });
    expect((await rejection(svc.approve(carol, r.id))).code).toBe('BRK_WRONG_STATE');
    expect(svc.consume('gr_1', UPDATE)).toBeUndefined();
    const again = file();
    expect(again.id).not.toBe(r.id);
    expect((await svc.deny(alice, again.id)).status).toBe('denied');
    expect((await rejection(svc.approve(bob, 'rv_nope'))).code).toBe('BRK_NOT_FOUND');
  });

  it('a review of a grant that ended cannot be approved', async () => {
    const r = file();
    await store.putGrant(grantOf({ status: 'revoked' }));
    expect((await rejection(svc.approve(bob, r.id))).code).toBe('BRK_WRONG_STATE');
  });

  it('an approval not used within 15 minutes lapses', async () => {
    const r = file();
    await svc.approve(bob, r.id);
    now += REVIEW_VALIDITY_MS + 1;
    expect(svc.consume('gr_1', UPDATE)).toBeUndefined();
    await svc.flush();
    expect((await store.getReview(r.id))?.status).toBe('expired');
  });
});

describe('refresh (restart, other instances)', () => {
  it('a new service over the same store honours an approval given before the restart, once', async () => {
    const r = file();
    await svc.approve(bob, r.id);
    const restarted = new ReviewService({ store, config: testConfig(), audit, now: () => now });
    expect(restarted.consume('gr_1', UPDATE)).toBeUndefined();
    await restarted.refresh();
    expect(restarted.consume('gr_1', UPDATE)?.id).toBe(r.id);
    await restarted.refresh();
    expect(restarted.consume('gr_1', UPDATE)).toBeUndefined();
  });

  it('picks up pending reviews (same id on retry) and expires stale approvals and reviews of ended grants', async () => {
    const r = file();
    await svc.flush();
    const restarted = new ReviewService({ store, config: testConfig(), audit, now: () => now });
    await restarted.refresh();
    expect(restarted.request({ grant: grantOf(), session: 'ses_9', text: UPDATE, ruleIds: ['x'] }).id).toBe(r.id);

    const other = file('update accounts set balance = 1 where id = 8');
    await svc.approve(bob, other.id);
    now += REVIEW_VALIDITY_MS + 1;
    await store.putGrant(grantOf({ status: 'expired' }));
    await restarted.refresh();
    expect((await store.getReview(other.id))?.status).toBe('expired');
    expect((await store.getReview(r.id))?.status).toBe('expired');
    expect(await restarted.list({ status: 'pending' })).toEqual([]);
  });

  it('concurrent refreshes share one pass', async () => {
    const a = svc.refresh();
    const b = svc.refresh();
    expect(a).toBe(b);
    await a;
  });
});
