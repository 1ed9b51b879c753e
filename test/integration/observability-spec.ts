// The metrics of SPEC §7 (names and labels are a stable contract), shared by the observability tests.

export interface SpecMetric {
  type: 'counter' | 'gauge' | 'histogram';
  labels: string[];
}

export const SPEC_METRICS: Record<string, SpecMetric> = {
  dbwarden_client_connections_active: { type: 'gauge', labels: ['protocol', 'target'] },
  dbwarden_sessions_total: { type: 'counter', labels: ['protocol', 'target', 'outcome'] },
  dbwarden_session_terminations_total: { type: 'counter', labels: ['reason'] },
  dbwarden_statements_total: { type: 'counter', labels: ['protocol', 'target', 'action'] },
  dbwarden_rule_matches_total: { type: 'counter', labels: ['rule', 'action'] },
  dbwarden_parse_failures_total: { type: 'counter', labels: ['dialect'] },
  dbwarden_statement_check_seconds: { type: 'histogram', labels: ['dialect'] },
  dbwarden_statement_cache_hits_total: { type: 'counter', labels: [] },
  dbwarden_statement_cache_misses_total: { type: 'counter', labels: [] },
  dbwarden_grants_active: { type: 'gauge', labels: ['target', 'access'] },
  dbwarden_grant_requests_total: { type: 'counter', labels: ['status'] },
  dbwarden_upstream_connect_seconds: { type: 'histogram', labels: ['target'] },
  dbwarden_bytes_total: { type: 'counter', labels: ['protocol', 'direction'] },
};
