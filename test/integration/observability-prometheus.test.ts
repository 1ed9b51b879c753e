// A real Prometheus (the Debian /usr/bin/prometheus) scrapes a test broker's admin /metrics every second with
// deploy/alerts.yml loaded; after a scripted session its HTTP API returns every SPEC §7 series and the
// break-glass alert fires.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startTestBroker } from '../helpers/broker.js';
import { freePort, spawnLogged } from '../helpers/process.js';
import { SPEC_METRICS } from './observability-spec.js';

interface QueryResult {
  status: string;
  data: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

async function eventually<T>(what: string, fn: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('Prometheus scraping the broker', () => {
  it('stores every SPEC series after a scripted session and evaluates the shipped alerts', async () => {
    await using b = await startTestBroker();
    const dir = mkdtempSync(join(tmpdir(), 'dbw-prom-'));
    const port = await freePort();
    const api = `http://127.0.0.1:${port}`;
    writeFileSync(join(dir, 'prometheus.yml'), stringify({
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      rule_files: [resolve('deploy/alerts.yml')],
      scrape_configs: [{ job_name: 'dbwarden', scrape_interval: '1s', static_configs: [{ targets: [`127.0.0.1:${b.admin.port}`] }] }],
    }));
    const prom = spawnLogged('prometheus', [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=1h',
    ]);
    try {
      await eventually('prometheus ready', async () => ((await fetch(`${api}/-/ready`)).ok ? true : undefined));
      const query = async (q: string) => {
        const res = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(q)}`);
        const body = (await res.json()) as QueryResult;
        expect(body.status).toBe('success');
        return body.data.result;
      };

      // the scripted session: allowed, cached, blocked and unparsable statements, a failed login, break-glass, a revoke
      const cred = await b.grant({ access: 'write' });
      const client = new pg.Client({ connectionString: b.url(cred) });
      client.on('error', () => {});
      await client.connect();
      await client.query('select 1');
      await client.query('select 1');
      await client.query('delete from nowhere').catch(() => {});
      await client.query('selec nonsense').catch(() => {});
      const bad = new pg.Client({ connectionString: b.url({ login: cred.login, password: 'not-the-password' }) });
      bad.on('error', () => {});
      await bad.connect().catch(() => {});
      await b.grant({ access: 'admin', who: 'bob' });
      const ended = new Promise<void>((r) => client.once('end', () => r()));
      await b.service.revoke({ name: 'alice', groups: ['dev'] }, cred.grantId, 'test over');
      await ended;

      const up = await eventually('target up', async () => {
        const r = await query('up{job="dbwarden"}');
        return r[0]?.value[1] === '1' ? r : undefined;
      });
      expect(up).toHaveLength(1);

      // every SPEC metric is stored (histograms as _bucket/_sum/_count), once the session's counters were scraped
      const names = await eventually('all SPEC series', async () => {
        const r = await query('count by (__name__) ({__name__=~"dbwarden_.+"})');
        const have = new Set(r.map((x) => x.metric.__name__!));
        const missing = Object.entries(SPEC_METRICS).flatMap(([n, s]) => (s.type === 'histogram' ? [`${n}_bucket`, `${n}_sum`, `${n}_count`] : [n])).filter((n) => !have.has(n));
        const revoked = await query('dbwarden_session_terminations_total{reason="revoked"} > 0');
        // the revoked session's counter rises when it starts ending, the connection gauge falls once its socket closed
        const open = await query('sum(dbwarden_client_connections_active) > 0');
        return missing.length === 0 && revoked.length === 1 && open.length === 0 ? have : undefined;
      });
      expect(names.size).toBeGreaterThanOrEqual(Object.keys(SPEC_METRICS).length);

      const one = async (q: string) => Number((await query(q))[0]?.value[1]);
      expect(await one('sum(dbwarden_statements_total{target="app",action="block"})')).toBe(2);
      expect(await one('sum(dbwarden_sessions_total{outcome="auth_failed"})')).toBe(1);
      expect(await one('dbwarden_rule_matches_total{rule="unscoped-write",action="block"}')).toBe(1);
      expect(await one('dbwarden_parse_failures_total{dialect="postgres"}')).toBe(1);
      expect(await one('dbwarden_grants_active{target="app",access="admin"}')).toBe(1);
      expect(await one('sum(dbwarden_client_connections_active)')).toBe(0);
      // a quantile comes out of the buckets (its value depends on machine load: a cold first parse can take 50 ms)
      const p50 = await one('histogram_quantile(0.5, sum by (le) (dbwarden_statement_check_seconds_bucket{dialect="postgres"}))');
      expect(p50).toBeGreaterThan(0);
      expect(p50).toBeLessThanOrEqual(0.1);

      // the shipped rules are loaded and the break-glass alert fires on the admin grant
      const firing = await eventually('break-glass alert', async () => {
        const r = await query('ALERTS{alertname="DbwardenBreakGlassGrantActive",alertstate="firing"}');
        return r.length ? r : undefined;
      });
      expect(firing[0]!.metric).toMatchObject({ target: 'app', severity: 'warning' });
      const rules = (await (await fetch(`${api}/api/v1/rules`)).json()) as { data: { groups: { rules: { name: string; health: string }[] }[] } };
      const loaded = rules.data.groups.flatMap((g) => g.rules);
      expect(loaded.length).toBeGreaterThanOrEqual(6);
      for (const r of loaded) expect(r.health, r.name).not.toBe('err');
    } finally {
      prom.child.kill('SIGTERM');
      const exited = await Promise.race([prom.exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 5000))]);
      if (!exited) prom.child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
