// deploy/alerts.yml and the Grafana dashboard: valid for promtool, every alert fires on the series it is meant for
// (promtool test rules), and every expression names only SPEC §7 metrics (or prom-client's process metrics).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { createMetrics } from '../../src/metrics/metrics.js';
import { SPEC_METRICS } from './observability-spec.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'dbw-obs-deploy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ALERTS = resolve('deploy/alerts.yml');
const DASHBOARD = resolve('deploy/grafana/dashboards/dbwarden.json');

/** Metric names in a PromQL expression: identifiers followed by `{`, `[`, `)` or an operator that are not functions or keywords. */
function metricNames(expr: string): string[] {
  const stripped = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\{[^}]*\}/g, '{}');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)) {
    const w = m[1]!;
    if (/^(dbwarden_|process_|nodejs_|up$)/.test(w)) names.add(w);
  }
  return [...names];
}

/** The SPEC metric a series name belongs to (histograms expose _bucket, _sum and _count). */
function specName(series: string): string | undefined {
  if (SPEC_METRICS[series]) return series;
  const base = series.replace(/_(bucket|sum|count)$/, '');
  return SPEC_METRICS[base]?.type === 'histogram' ? base : undefined;
}

describe('SPEC §7 metrics in src/metrics/metrics.ts', () => {
  it('every SPEC metric is registered with exactly the SPEC labels and type', async () => {
    const m = createMetrics();
    for (const [name, spec] of Object.entries(SPEC_METRICS)) {
      const metric = m.registry.getSingleMetric(name) as unknown as { labelNames: string[]; type?: string } | undefined;
      expect(metric, name).toBeDefined();
      expect([...metric!.labelNames].sort(), name).toEqual([...spec.labels].sort());
      const json = (await m.registry.getMetricsAsJSON()).find((x) => x.name === name)!;
      expect(json.type, name).toBe(spec.type);
    }
  });
});

describe('deploy/alerts.yml', () => {
  it('passes promtool check rules', async () => {
    const r = await run('promtool', ['check', 'rules', ALERTS]);
    expect(r.stdout).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('has the required alerts and names only SPEC metrics', () => {
    const doc = parse(readFileSync(ALERTS, 'utf8')) as { groups: { rules: { alert: string; expr: string; labels: { severity: string } }[] }[] };
    const rules = doc.groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.alert)).toEqual(expect.arrayContaining([
      'DbwardenDown', 'DbwardenUpstreamUnavailable', 'DbwardenBlockedStatementsSpike', 'DbwardenParseFailures',
      'DbwardenBreakGlassGrantActive', 'DbwardenSessionsEndedByExpiry',
    ]));
    for (const r of rules) {
      expect(['critical', 'warning', 'info']).toContain(r.labels.severity);
      for (const name of metricNames(r.expr).filter((n) => n.startsWith('dbwarden_'))) expect(specName(name), `${r.alert}: ${name}`).toBeDefined();
    }
    expect(rules.find((r) => r.alert === 'DbwardenUpstreamUnavailable')!.expr).toContain('outcome="upstream_error"');
    expect(rules.find((r) => r.alert === 'DbwardenBreakGlassGrantActive')!.expr).toContain('dbwarden_grants_active{access="admin"}');
    expect(rules.find((r) => r.alert === 'DbwardenSessionsEndedByExpiry')!.expr).toContain('reason="expired"');
  });

  it('each alert fires on the series it watches and stays quiet on healthy ones (promtool test rules)', async () => {
    const pgUp = 'dbwarden_sessions_total{protocol="postgres",target="app",outcome="upstream_error"}';
    const tests = {
      rule_files: [ALERTS],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: [
            { series: 'up{job="dbwarden",instance="b1"}', values: '0x15' },
            { series: 'up{job="dbwarden",instance="b2"}', values: '1x15' },
            { series: pgUp, values: '0+6x15' },
            { series: 'dbwarden_sessions_total{protocol="postgres",target="app",outcome="ok"}', values: '0+60x15' },
            { series: 'dbwarden_statements_total{protocol="postgres",target="app",action="block"}', values: '0+900x15' },
            { series: 'dbwarden_statements_total{protocol="postgres",target="other",action="block"}', values: '0+1x15' },
            { series: 'dbwarden_parse_failures_total{dialect="postgres"}', values: '0+2x15' },
            { series: 'dbwarden_parse_failures_total{dialect="mysql"}', values: '0x15' },
            { series: 'dbwarden_grants_active{target="app",access="admin"}', values: '1x15' },
            { series: 'dbwarden_grants_active{target="app",access="write"}', values: '3x15' },
            { series: 'dbwarden_session_terminations_total{reason="expired"}', values: '0 0 0 0 0 0 0 0 0 0 2 2 2 2 2 2' },
            { series: 'dbwarden_session_terminations_total{reason="revoked"}', values: '0+1x15' },
          ],
          alert_rule_test: [
            {
              eval_time: '5m', alertname: 'DbwardenDown',
              exp_alerts: [{ exp_labels: { severity: 'critical', job: 'dbwarden', instance: 'b1' }, exp_annotations: { summary: 'dbwarden broker b1 is down', description: 'Prometheus has not been able to scrape b1 for 1 minute; clients cannot reach their databases through it.' } }],
            },
            { eval_time: '10m', alertname: 'DbwardenMetricsMissing', exp_alerts: [] },
            {
              eval_time: '10m', alertname: 'DbwardenUpstreamUnavailable',
              exp_alerts: [{ exp_labels: { severity: 'critical', target: 'app', protocol: 'postgres' }, exp_annotations: { summary: 'dbwarden cannot connect to upstream app', description: '0.10 sessions/s to target app (postgres) failed upstream over the last 5 minutes.' } }],
            },
            {
              eval_time: '10m', alertname: 'DbwardenBlockedStatementsSpike',
              exp_alerts: [{ exp_labels: { severity: 'warning', target: 'app' }, exp_annotations: { summary: 'many blocked statements on app', description: '900 statements per minute blocked on target app (5-minute average). See `dbwarden audit tail --type statement`.' } }],
            },
            {
              eval_time: '15m', alertname: 'DbwardenParseFailures',
              exp_alerts: [{ exp_labels: { severity: 'warning', dialect: 'postgres' }, exp_annotations: { summary: 'postgres statements the broker cannot parse', description: '30 postgres statements failed to parse in 15 minutes (each one was blocked).' } }],
            },
            {
              eval_time: '1m', alertname: 'DbwardenBreakGlassGrantActive',
              exp_alerts: [{ exp_labels: { severity: 'warning', target: 'app' }, exp_annotations: { summary: 'break-glass (admin) grant active on app', description: '1 admin grant(s) active on target app. Check `dbwarden grants` and the audit trail.' } }],
            },
            { eval_time: '5m', alertname: 'DbwardenSessionsEndedByExpiry', exp_alerts: [] },
            {
              eval_time: '12m', alertname: 'DbwardenSessionsEndedByExpiry',
              exp_alerts: [{ exp_labels: { severity: 'info' }, exp_annotations: { summary: 'sessions ended by grant expiry', description: '2 sessions were ended because their grant expired in the last 15 minutes.' } }],
            },
          ],
        },
        {
          // nothing scraped at all
          interval: '1m',
          input_series: [{ series: 'up{job="other"}', values: '1x10' }],
          alert_rule_test: [{ eval_time: '6m', alertname: 'DbwardenMetricsMissing', exp_alerts: [{ exp_labels: { severity: 'critical', job: 'dbwarden' }, exp_annotations: { summary: 'no dbwarden broker is being scraped', description: 'No target of job dbwarden exists in Prometheus: the scrape configuration or service discovery is broken.' } }] }],
        },
        {
          // postgres: 90% of checks between 5 and 50 ms (p99 about 49.5 ms) fires; mysql, all under 1 ms, stays quiet
          interval: '1m',
          input_series: [
            { series: 'dbwarden_statement_check_seconds_bucket{dialect="postgres",le="0.001"}', values: '0+10x20' },
            { series: 'dbwarden_statement_check_seconds_bucket{dialect="postgres",le="0.005"}', values: '0+10x20' },
            { series: 'dbwarden_statement_check_seconds_bucket{dialect="postgres",le="0.05"}', values: '0+100x20' },
            { series: 'dbwarden_statement_check_seconds_bucket{dialect="postgres",le="+Inf"}', values: '0+100x20' },
            { series: 'dbwarden_statement_check_seconds_bucket{dialect="mysql",le="0.001"}', values: '0+100x20' },
            { series: 'dbwarden_statement_check_seconds_bucket{dialect="mysql",le="+Inf"}', values: '0+100x20' },
          ],
          alert_rule_test: [{ eval_time: '20m', alertname: 'DbwardenStatementCheckSlow', exp_alerts: [{ exp_labels: { severity: 'warning', dialect: 'postgres' }, exp_annotations: { summary: 'slow postgres statement checks', description: '99th percentile of parse + evaluate time is 49.5ms (cache misses).' } }] }],
        },
      ],
    };
    const file = join(dir, 'alerts.test.yml');
    writeFileSync(file, stringify(tests));
    const r = await run('promtool', ['test', 'rules', file]).catch((e: { stdout: string; stderr: string }) => e);
    expect(`${r.stdout}${r.stderr}`).toMatch(/SUCCESS/);
  });
});

interface Panel { type: string; title: string; targets?: { expr: string }[]; panels?: Panel[] }

describe('deploy/grafana', () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { uid: string; panels: Panel[]; templating: { list: { name: string; query: unknown }[] } };
  const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row');
  const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

  it('every expression references a SPEC metric (or a prom-client process metric) and nothing else', () => {
    expect(exprs.length).toBeGreaterThan(15);
    for (const { panel, expr } of exprs) {
      const names = metricNames(expr);
      expect(names.length, `${panel}: ${expr}`).toBeGreaterThan(0);
      for (const n of names) {
        if (n.startsWith('dbwarden_')) expect(specName(n), `${panel}: ${n} is not a SPEC §7 metric`).toBeDefined();
        else expect(n, panel).toMatch(/^(process_|nodejs_)/);
      }
    }
  });

  it('covers connections, statements by action, rule hits, check latency percentiles, grants and terminations', () => {
    const all = exprs.map((e) => e.expr).join('\n');
    expect(all).toContain('dbwarden_client_connections_active');
    expect(all).toMatch(/sum by \(action\) \(rate\(dbwarden_statements_total/);
    expect(all).toContain('dbwarden_rule_matches_total');
    for (const q of ['0.5', '0.9', '0.99']) expect(all).toContain(`histogram_quantile(${q}, sum by (le, dialect) (rate(dbwarden_statement_check_seconds_bucket`);
    expect(all).toContain('dbwarden_grants_active');
    expect(all).toMatch(/sum by \(reason\) \(increase\(dbwarden_session_terminations_total/);
    // every SPEC metric is on the dashboard somewhere
    const used = new Set(exprs.flatMap((e) => metricNames(e.expr)).map(specName).filter(Boolean));
    expect([...used].sort()).toEqual(Object.keys(SPEC_METRICS).sort());
  });

  it('every expression is valid PromQL (promtool check rules on them as recording rules)', async () => {
    const rules = exprs.map((e, i) => ({ record: `dashboard:expr_${i}`, expr: e.expr.replaceAll('$__rate_interval', '5m').replaceAll('$target', '.*') }));
    const file = join(dir, 'dashboard-exprs.yml');
    writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules }] }));
    const r = await run('promtool', ['check', 'rules', file]).catch((e: { stdout: string; stderr: string }) => e);
    expect(`${r.stdout}${r.stderr}`).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  it('provisioning files point Grafana at Prometheus and at the dashboards folder', () => {
    const ds = parse(readFileSync('deploy/grafana/provisioning/datasources/prometheus.yml', 'utf8')) as { apiVersion: number; datasources: { type: string; url: string }[] };
    expect(ds.apiVersion).toBe(1);
    expect(ds.datasources[0]).toMatchObject({ type: 'prometheus', url: 'http://prometheus:9090' });
    const dash = parse(readFileSync('deploy/grafana/provisioning/dashboards/dbwarden.yml', 'utf8')) as { providers: { type: string; options: { path: string } }[] };
    expect(dash.providers[0]).toMatchObject({ type: 'file', options: { path: '/var/lib/grafana/dashboards' } });
    expect(dashboard.uid).toBe('dbwarden');
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'target']);
  });
});
