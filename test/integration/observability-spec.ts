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

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus text exposition into samples and the declared metric names (`# TYPE`). */
export function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m) throw new Error(`unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { samples, types };
}

/** The value of the one sample of `name` whose labels include `labels`; the sum when several match; undefined when none. */
export function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const hits = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return hits.length ? hits.reduce((a, s) => a + s.value, 0) : undefined;
}
