// Every prom-client metric (docs/metrics.md is generated from this registry), declared here and nowhere else. Label values are bounded:
// never SQL text or logins.

/** Label values known before anything happens; their series start at 0 (see createMetrics). */
export const TERMINATION_REASONS = ['expired', 'revoked', 'killed', 'shutdown', 'upstream'] as const;
export const DIALECTS = ['postgres', 'mysql'] as const;
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { Tallies } from './statement-tally.js';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // These three gauges end in _total, which Prometheus reserves for counters (`promtool check metrics` fails on
  // them); the per-type series nodejs_active_handles{type} etc. carry the same numbers.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
  const r = [registry];
  // per-statement counts arrive through tallies (statement-tally.ts) and are flushed whenever either counter is read
  const tallies = new Tallies();
  const flushTallies = (): void => tallies.flush(statementsTotal, ruleMatches);
  const statementsTotal: Counter<'protocol' | 'target' | 'action'> = new Counter({ name: 'dbwarden_statements_total', help: 'Client statements checked, by decided action', labelNames: ['protocol', 'target', 'action'] as const, registers: r, collect: () => flushTallies() });
  const ruleMatches: Counter<'rule' | 'action'> = new Counter({ name: 'dbwarden_rule_matches_total', help: 'Rule matches by rule id and action', labelNames: ['rule', 'action'] as const, registers: r, collect: () => flushTallies() });
  const metrics = {
    tallies,
    registry,
    clientConnectionsActive: new Gauge({ name: 'dbwarden_client_connections_active', help: 'Client connections currently open', labelNames: ['protocol', 'target'] as const, registers: r }),
    sessionsTotal: new Counter({ name: 'dbwarden_sessions_total', help: 'Client sessions by outcome of login', labelNames: ['protocol', 'target', 'outcome'] as const, registers: r }),
    sessionTerminations: new Counter({ name: 'dbwarden_session_terminations_total', help: 'Sessions ended by the broker, by reason', labelNames: ['reason'] as const, registers: r }),
    statementsTotal,
    ruleMatches,
    parseFailures: new Counter({ name: 'dbwarden_parse_failures_total', help: 'Statements the SQL parser could not read', labelNames: ['dialect'] as const, registers: r }),
    statementCheckSeconds: new Histogram({
      name: 'dbwarden_statement_check_seconds', help: 'Parse + evaluate time per client text not found in the decision cache', labelNames: ['dialect'] as const, registers: r,
      buckets: [0.000001, 0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1],
    }),
    statementCacheHits: new Counter({ name: 'dbwarden_statement_cache_hits_total', help: 'Decision cache hits', registers: r }),
    statementCacheMisses: new Counter({ name: 'dbwarden_statement_cache_misses_total', help: 'Decision cache misses', registers: r }),
    grantsActive: new Gauge({ name: 'dbwarden_grants_active', help: 'Active grants', labelNames: ['target', 'access'] as const, registers: r }),
    grantRequests: new Counter({ name: 'dbwarden_grant_requests_total', help: 'Access requests by resulting status', labelNames: ['status'] as const, registers: r }),
    upstreamConnectSeconds: new Histogram({
      name: 'dbwarden_upstream_connect_seconds', help: 'Time to connect and authenticate upstream', labelNames: ['target'] as const, registers: r,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    }),
    upstreamSpareLogins: new Counter({
      name: 'dbwarden_upstream_spare_logins_total', help: 'Logins on targets with upstreamSpares, by whether a spare upstream connection served them (spare) or one was opened for them (fresh)',
      labelNames: ['target', 'upstream'] as const, registers: r,
    }),
    bytesTotal: new Counter({ name: 'dbwarden_bytes_total', help: 'Bytes relayed', labelNames: ['protocol', 'direction'] as const, registers: r }),
    rowsWritten: new Counter({ name: 'dbwarden_rows_written_total', help: 'Rows changed by forwarded statements (server counts: INSERT/UPDATE/DELETE/MERGE/COPY, MySQL affected rows)', labelNames: ['protocol', 'target'] as const, registers: r }),
    rowLimitRefusals: new Counter({ name: 'dbwarden_row_limit_refusals_total', help: 'Statements rolled back and refused because they would change more rows than their rule allows (maxRows/maxFraction)', labelNames: ['target', 'rule'] as const, registers: r }),
    webhookDeliveries: new Counter({ name: 'dbwarden_webhook_deliveries_total', help: 'Webhook notifications by outcome (delivered, retried, failed, dropped)', labelNames: ['outcome'] as const, registers: r }),
  };
  // A counter series that first appears at 1 shows no increase() in Prometheus, so alerts on the first
  // expiry or parse failure would never fire; series with fixed label values are therefore created at 0.
  for (const reason of TERMINATION_REASONS) metrics.sessionTerminations.inc({ reason }, 0);
  for (const dialect of DIALECTS) metrics.parseFailures.inc({ dialect }, 0);
  return metrics;
}

export type Metrics = ReturnType<typeof createMetrics>;
