// Grant deadlines of live sessions under wall-clock jumps: setting the clock back never lets a session outlive its
// grant (the monotonic deadline still ends it on time), setting it forward ends it early (fail closed), and an
// extend moves both deadlines.
import { describe, expect, it } from 'vitest';
import type { AuditSink } from '../../../src/audit/events.js';
import type { Grant } from '../../../src/grants/model.js';
import { silentLogger } from '../../../src/log.js';
import { createMetrics } from '../../../src/metrics/metrics.js';
import { GuardPool } from '../../../src/session/guard.js';
import { SessionRegistry } from '../../../src/session/registry.js';

const MIN = 60_000;

function setup(ttlMs: number) {
  const clock = { wall: 1_700_000_000_000, mono: 5_000 };
  const audit: AuditSink = { record: () => undefined, close: async () => undefined };
  const registry = new SessionRegistry({
    audit, metrics: createMetrics(), logger: silentLogger, guards: new GuardPool(() => [], 10), instanceId: 'test',
    now: () => clock.wall, monotonic: () => clock.mono,
  });
  const grant: Grant = {
    id: 'gr_1', requestId: 'req_1', identity: 'alice', groups: [], target: 'app', access: 'read', databases: ['app'], login: 'alice_abcdef',
    activatedAt: new Date(clock.wall).toISOString(), expiresAt: new Date(clock.wall + ttlMs).toISOString(), status: 'active',
  };
  const s = registry.open({ grant, protocol: 'postgres', database: 'app', client: '127.0.0.1:1', dialect: 'postgres' });
  const ends: string[] = [];
  const notices: string[] = [];
  s.control = { terminate: (reason) => void ends.push(reason), notice: (m) => void notices.push(m) };
  /** real time passes: both clocks advance */
  const pass = (ms: number) => {
    clock.wall += ms;
    clock.mono += ms;
  };
  return { registry, clock, ends, notices, pass };
}

describe('grant deadlines under wall-clock jumps', () => {
  it('the clock set back an hour does not extend a live session', () => {
    const t = setup(10 * MIN);
    t.pass(2 * MIN);
    t.clock.wall -= 60 * MIN;
    t.pass(7 * MIN);
    t.registry.sweep();
    expect(t.ends).toEqual([]);
    t.pass(MIN);
    t.registry.sweep();
    expect(t.ends).toEqual(['expired']);
  });

  it('the clock set back still gets the expiry warnings on time', () => {
    const t = setup(10 * MIN);
    t.clock.wall -= 24 * 60 * MIN;
    t.pass(5 * MIN + 1);
    t.registry.sweep();
    expect(t.notices).toHaveLength(1);
    expect(t.notices[0]).toMatch(/expires in/);
  });

  it('the clock set forward past the deadline ends the session at once (fail closed)', () => {
    const t = setup(10 * MIN);
    t.pass(MIN);
    t.clock.wall += 30 * MIN;
    t.registry.sweep();
    expect(t.ends).toEqual(['expired']);
  });

  it('an extend moves both deadlines, also after a backward jump', () => {
    const t = setup(10 * MIN);
    t.clock.wall -= 60 * MIN;
    t.pass(5 * MIN);
    // the store computes the new expiry from the (jumped) wall clock: 20 minutes from "now"
    t.registry.updateGrantExpiry('gr_1', new Date(t.clock.wall + 20 * MIN).toISOString());
    t.pass(19 * MIN);
    t.registry.sweep();
    expect(t.ends).toEqual([]);
    t.pass(MIN);
    t.registry.sweep();
    expect(t.ends).toEqual(['expired']);
  });
});
