// Session.decide with `review` and `warn` rules: review ids on per-call copies, approvals used once, audit fields.
import { beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent, AuditSink } from '../../../src/audit/events.js';
import type { Grant } from '../../../src/grants/model.js';
import { silentLogger } from '../../../src/log.js';
import { createMetrics } from '../../../src/metrics/metrics.js';
import type { RuleSet } from '../../../src/rules/rule-set.js';
import { Guard } from '../../../src/session/guard.js';
import { Session, type ReviewGate } from '../../../src/session/session.js';
import { initSql } from '../../../src/sql/analyze.js';

const RULES: RuleSet[] = [{
  name: 'test',
  rules: [
    { id: 'accounts-review', when: { statement: ['update'], tables: ['*.accounts'] }, action: 'review', message: 'changes to accounts need a second pair of eyes' },
    { id: 'accounts-warn', when: { tables: ['*.accounts'] }, action: 'warn', message: 'you are touching accounts' },
    { id: 'no-delete', when: { statement: ['delete'] }, action: 'block', message: 'no deletes' },
  ],
}];

const grant: Grant = {
  id: 'gr_1', requestId: 'req_1', identity: 'alice', groups: ['dev'], target: 'app', access: 'write', databases: ['app'], login: 'alice_abcdef',
  activatedAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 3_600_000).toISOString(), status: 'active',
};

class FakeGate implements ReviewGate {
  filed: { session: string; text: string; ruleIds: string[] }[] = [];
  approvals = new Map<string, { id: string; decidedBy: string }>();
  request(r: { grant: Grant; session: string; text: string; ruleIds: string[] }) {
    this.filed.push({ session: r.session, text: r.text, ruleIds: r.ruleIds });
    return { id: `rv_${this.filed.length}` };
  }
  consume(grantId: string, text: string) {
    const k = `${grantId}|${text}`;
    const a = this.approvals.get(k);
    this.approvals.delete(k);
    return a;
  }
}

function setup(withGate = true) {
  const events: AuditEvent[] = [];
  const audit: AuditSink = { record: (e) => void events.push(e), close: async () => undefined };
  const metrics = createMetrics();
  const guard = new Guard({ dialect: 'postgres', access: 'write', target: 'app', groups: ['dev'] }, RULES, 100, metrics);
  const gate = new FakeGate();
  const deps = { audit, metrics, logger: silentLogger, onEnd: () => undefined, ...(withGate ? { reviews: gate } : {}) };
  const s1 = new Session('ses_1', grant, 'postgres', 'app', '127.0.0.1:1', 'test', guard, deps);
  const s2 = new Session('ses_2', grant, 'postgres', 'app', '127.0.0.1:2', 'test', guard, deps);
  return { s1, s2, gate, guard, events, metrics };
}

const UPDATE = 'update accounts set balance = 0 where id = 7';

beforeAll(async () => {
  await initSql();
});

describe('Session.decide with review rules', () => {
  it('files a review and returns a copy carrying its id; the cached decision stays untouched', () => {
    const t = setup();
    const d1 = t.s1.decide(UPDATE);
    expect(d1.action).toBe('review');
    expect(d1.review).toEqual({ id: 'rv_1' });
    expect(t.gate.filed).toEqual([{ session: 'ses_1', text: UPDATE, ruleIds: ['accounts-review'] }]);
    const cached = t.guard.decide(UPDATE);
    expect(cached.review).toBeUndefined();
    expect(cached.action).toBe('review');
    // another session of the grant gets its own copy, not the first one's object
    const d2 = t.s2.decide(UPDATE);
    expect(d2).not.toBe(d1);
    expect(d2.review).toEqual({ id: 'rv_2' });
    expect(d1.review).toEqual({ id: 'rv_1' });
  });

  it('an approval lets the exact text through once; weaker rules (warn) still apply', () => {
    const t = setup();
    t.gate.approvals.set(`gr_1|${UPDATE}`, { id: 'rv_ok', decidedBy: 'bob' });
    expect(t.s1.decide(UPDATE + ' ').action).toBe('review');
    const passed = t.s2.decide(UPDATE);
    expect(passed.action).toBe('warn');
    expect(passed.review).toEqual({ id: 'rv_ok', approvedBy: 'bob' });
    expect(passed.rules.map((r) => r.id)).toEqual(['accounts-review', 'accounts-warn']);
    const again = t.s1.decide(UPDATE);
    expect(again.action).toBe('review');
    expect(again.review?.id).toMatch(/^rv_\d$/);
    expect(t.guard.decide(UPDATE).action).toBe('review');
  });

  it('a block outranks any review: no review is filed and no approval is consumed', () => {
    const t = setup();
    const text = 'update accounts set balance = 0 where id = 1; delete from accounts where id = 2';
    t.gate.approvals.set(`gr_1|${text}`, { id: 'rv_x', decidedBy: 'bob' });
    const d = t.s1.decide(text);
    expect(d.action).toBe('block');
    expect(d.review).toBeUndefined();
    expect(t.gate.filed).toEqual([]);
    expect(t.gate.approvals.size).toBe(1);
  });

  it('the statement audit event names the review, and the approver when one was used', () => {
    const t = setup();
    t.s1.decide(UPDATE);
    t.gate.approvals.set(`gr_1|${UPDATE}`, { id: 'rv_ok', decidedBy: 'bob' });
    t.s1.decide(UPDATE);
    t.s1.decide('select 1');
    // forwarded statements are recorded when their result ends (here: the protocol's unit end)
    t.s1.statements.endUnit();
    const st = t.events.filter((e) => e.type === 'statement');
    expect(st[0]).toMatchObject({ action: 'review', review: 'rv_1', rules: ['accounts-review', 'accounts-warn'], text: UPDATE });
    expect(st[0]).not.toHaveProperty('approvedBy');
    expect(st[1]).toMatchObject({ action: 'warn', review: 'rv_ok', approvedBy: 'bob' });
    expect(st[2]).toMatchObject({ action: 'allow' });
    expect(st[2]).not.toHaveProperty('review');
  });

  it('without a review gate the decision stays a plain review refusal', () => {
    const t = setup(false);
    const d = t.s1.decide(UPDATE);
    expect(d.action).toBe('review');
    expect(d.review).toBeUndefined();
  });

  it('warn decisions are forwarded as warn and counted per rule', async () => {
    const t = setup();
    const d = t.s1.decide('select * from accounts where id = 1');
    expect(d.action).toBe('warn');
    expect(d.rules.map((r) => `${r.id}:${r.action}`)).toEqual(['accounts-warn:warn']);
    const text = await t.metrics.registry.getSingleMetricAsString('dbwarden_rule_matches_total');
    expect(text).toMatch(/dbwarden_rule_matches_total\{rule="accounts-warn",action="warn"\} 1/);
  });
});
