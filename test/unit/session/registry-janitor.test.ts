// The janitor sweep: sessions end at their grant's deadline and get warnings 5 and 1 minutes ahead, once each.
import { describe, expect, it } from 'vitest';
import type { AuditEvent, AuditSink } from '../../../src/audit/events.js';
import type { Grant } from '../../../src/grants/model.js';
import { silentLogger } from '../../../src/log.js';
import { createMetrics } from '../../../src/metrics/metrics.js';
import { GuardPool } from '../../../src/session/guard.js';
import { DEFAULT_SESSION_LIMITS, SessionRegistry, timeLeftText, type SessionLimits } from '../../../src/session/registry.js';

function setup(expiresAt: number, limits?: SessionLimits) {
  let now = 0;
  const events: AuditEvent[] = [];
  const audit: AuditSink = { record: (e) => void events.push(e), close: async () => undefined };
  const registry = new SessionRegistry({ audit, metrics: createMetrics(), logger: silentLogger, guards: new GuardPool(() => [], 10), instanceId: 'test', now: () => now, limits });
  const grant: Grant = {
    id: 'gr_1', requestId: 'req_1', identity: 'alice', groups: [], target: 'app', access: 'read', databases: ['app'], login: 'alice_abcdef',
    activatedAt: new Date(0).toISOString(), expiresAt: new Date(expiresAt).toISOString(), status: 'active',
  };
  const s = registry.open({ grant, protocol: 'postgres', database: 'app', client: '127.0.0.1:1', dialect: 'postgres' });
  const notices: string[] = [];
  const ends: string[] = [];
  s.control = { terminate: (reason, message) => void ends.push(`${reason}|${message}`), notice: (m) => void notices.push(m) };
  return { registry, s, notices, ends, events, setNow: (t: number) => (now = t) };
}

describe('SessionRegistry janitor', () => {
  it('states the time left truthfully: seconds under two minutes, whole minutes rounded down above', () => {
    expect(timeLeftText(69_000)).toBe('69 seconds');
    expect(timeLeftText(69_999)).toBe('69 seconds');
    expect(timeLeftText(1_000)).toBe('1 second');
    expect(timeLeftText(119_999)).toBe('119 seconds');
    expect(timeLeftText(120_000)).toBe('2 minutes');
    expect(timeLeftText(299_999)).toBe('4 minutes');
  });

  it('warns at 5 and 1 minutes before expiry, once each, then ends the session as expired', () => {
    const t = setup(10 * 60_000);
    t.setNow(4 * 60_000);
    t.registry.sweep();
    expect(t.notices).toEqual([]);
    t.setNow(5 * 60_000 + 1);
    t.registry.sweep();
    t.registry.sweep();
    expect(t.notices).toHaveLength(1);
    // 4m59.999s left: the time left is rounded down, never promised longer than it is
    expect(t.notices[0]).toMatch(/expires in 4 minutes \(at /);
    t.setNow(9 * 60_000 + 30_000);
    t.registry.sweep();
    expect(t.notices).toHaveLength(2);
    expect(t.notices[1]).toMatch(/expires in 30 seconds \(at /);
    expect(t.ends).toEqual([]);
    t.setNow(10 * 60_000);
    t.registry.sweep();
    expect(t.ends).toEqual(['expired|dbwarden: grant expired']);
  });

  it('a session opened inside the last minute gets only the 1-minute warning', () => {
    const t = setup(60_000);
    t.setNow(30_000);
    t.registry.sweep();
    expect(t.notices).toHaveLength(1);
    expect(t.notices[0]).toMatch(/expires in 30 seconds/);
  });

  it('extend moves the deadline and re-arms the warnings; revoke ends sessions of that grant only', () => {
    const t = setup(6 * 60_000);
    t.setNow(60_000 + 1);
    t.registry.sweep();
    expect(t.notices).toHaveLength(1);
    t.registry.updateGrantExpiry('gr_1', new Date(20 * 60_000).toISOString());
    t.setNow(6 * 60_000);
    t.registry.sweep();
    expect(t.ends).toEqual([]);
    expect(t.registry.terminateGrant('gr_other', 'revoked')).toBe(0);
    expect(t.registry.terminateGrant('gr_1', 'revoked')).toBe(1);
    expect(t.ends).toEqual(['revoked|dbwarden: grant revoked']);
  });

  it('a revoke of a grant with many sessions ends them a batch per event-loop turn, every one of them', async () => {
    const t = setup(60 * 60_000, { ...DEFAULT_SESSION_LIMITS, maxSessionsPerGrant: 2000 });
    const other: Grant = { ...t.s.grant, id: 'gr_2', login: 'bob_abcdef' };
    const ends = new Map<string, string>();
    const open = (grant: Grant) => {
      const s = t.registry.open({ grant, protocol: 'mysql', database: 'app', client: '127.0.0.1:2', dialect: 'mysql' });
      s.control = { terminate: (reason) => void ends.set(s.id, reason), notice: () => undefined };
      return s;
    };
    const mine = Array.from({ length: 1000 }, () => open(t.s.grant));
    const theirs = Array.from({ length: 50 }, () => open(other));
    expect(t.registry.terminateGrant('gr_1', 'revoked')).toBe(1001);
    // the API call does not end a thousand sessions in one synchronous loop
    expect(ends.size).toBeGreaterThan(0);
    expect(ends.size).toBeLessThan(1000);
    for (let i = 0; i < 20 && ends.size < 1000; i++) await new Promise((r) => setImmediate(r));
    expect(mine.every((s) => ends.get(s.id) === 'revoked')).toBe(true);
    expect(theirs.some((s) => ends.has(s.id))).toBe(false);
    expect(t.ends).toEqual(['revoked|dbwarden: grant revoked']);
  });

  it('audits session start and end with the termination reason', () => {
    const t = setup(60_000);
    t.registry.kill(t.s.id, 'bob');
    t.s.end('client closed');
    expect(t.events.map((e) => e.type)).toEqual(['session.started', 'session.ended']);
    expect((t.events[1] as { reason: string }).reason).toBe('killed');
    expect(t.registry.size).toBe(0);
  });
});
