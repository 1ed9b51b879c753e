// Test helper: a real Session (registry, guard, rules parsed from YAML) for driving a relay without sockets.
import type { AuditEvent, AuditSink } from '../../src/audit/events.js';
import type { Grant } from '../../src/grants/model.js';
import { silentLogger } from '../../src/log.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import '../../src/rules/check.js';
import { parseRuleSet } from '../../src/rules/load.js';
import { GuardPool } from '../../src/session/guard.js';
import { SessionRegistry } from '../../src/session/registry.js';
import type { Session } from '../../src/session/session.js';

export const RULES = `
ruleset: unit
rules:
  - id: no-unscoped-delete
    when: { statement: delete, where: absent }
    action: block
    message: add a WHERE clause
`;

export function relaySession(protocol: 'postgres' | 'mysql', rules = RULES): { session: Session; events: AuditEvent[]; metrics: ReturnType<typeof createMetrics> } {
  const parsed = parseRuleSet(rules, 'unit.yaml');
  if (!parsed.ruleset) throw new Error(JSON.stringify(parsed.errors));
  const events: AuditEvent[] = [];
  const audit: AuditSink = { record: (e) => void events.push(e), close: async () => undefined };
  const metrics = createMetrics();
  const registry = new SessionRegistry({ audit, metrics, logger: silentLogger, guards: new GuardPool(() => [parsed.ruleset!], 100), instanceId: 'unit' });
  const grant: Grant = {
    id: 'gr_unit', requestId: 'req_unit', identity: 'alice', groups: [], target: 'app', access: 'write', databases: ['app'], login: 'alice_unit',
    activatedAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 3_600_000).toISOString(), status: 'active',
  };
  const session = registry.open({ grant, protocol, database: 'app', client: '127.0.0.1:1', dialect: protocol });
  return { session, events, metrics };
}
