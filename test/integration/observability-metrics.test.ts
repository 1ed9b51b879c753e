// /metrics on a live broker after a scripted node-pg session (allowed and blocked statements, a parse failure,
// a failed login, a break-glass grant, a revoke): every SPEC §7 metric present with sensible values, label values
// bounded (no logins, no SQL), and `promtool check metrics` accepts the output.
import { spawn } from 'node:child_process';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { startTestBroker } from '../helpers/broker.js';
import { parseExposition, SPEC_METRICS, valueOf } from './observability-spec.js';

async function promtoolCheckMetrics(text: string): Promise<{ code: number | null; output: string }> {
  const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr.on('data', (b: Buffer) => (output += b.toString()));
  child.stdin.end(text);
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  return { code, output };
}

async function until(check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('/metrics after a scripted session', () => {
  it('serves every SPEC metric with bounded labels and sensible values, and passes promtool', async () => {
    await using b = await startTestBroker();
    const scrape = async () => (await fetch(`${b.admin.url}/metrics`)).text();

    const cred = await b.grant({ access: 'write' });
    const client = new pg.Client({ connectionString: b.url(cred) });
    client.on('error', () => {});
    await client.connect();
    await client.query('select 1 as one');
    await client.query('select 1 as one'); // decision cache hit
    await expect(client.query('delete from obs_nowhere')).rejects.toThrow(/blocked by rule unscoped-write/);
    await expect(client.query('selec garbage from nowhere')).rejects.toThrow(/syntax error/);

    const bad = new pg.Client({ connectionString: b.url({ login: cred.login, password: 'wrong-password-123' }) });
    bad.on('error', () => {});
    await expect(bad.connect()).rejects.toThrow();

    await b.grant({ access: 'admin', who: 'bob' });

    const ended = new Promise<void>((r) => client.once('end', () => r()));
    const revoke = await fetch(`${b.admin.url}/v1/grants/${cred.grantId}/revoke`, { method: 'POST', headers: { authorization: `Bearer ${(await import('../helpers/broker.js')).TOKENS.alice}`, 'content-type': 'application/json' }, body: '{}' });
    expect(revoke.status).toBe(200);
    await ended;
    await until(async () => (valueOf(parseExposition(await scrape()).samples, 'dbwarden_client_connections_active', { target: 'app' }) ?? 1) === 0);

    const text = await scrape();
    const { samples, types } = parseExposition(text);
    for (const [name, spec] of Object.entries(SPEC_METRICS)) {
      expect(types.get(name), name).toBe(spec.type);
      const series = samples.filter((s) => s.name === name || (spec.type === 'histogram' && s.name.startsWith(`${name}_`)));
      expect(series.length, `${name} has samples`).toBeGreaterThan(0);
      for (const s of series) {
        const keys = Object.keys(s.labels).filter((k) => k !== 'le');
        expect(keys.sort(), `${s.name} labels`).toEqual([...spec.labels].sort());
      }
    }
    const v = (name: string, labels: Record<string, string> = {}) => valueOf(samples, name, labels);
    expect(v('dbwarden_client_connections_active', { protocol: 'postgres', target: 'app' })).toBe(0);
    expect(v('dbwarden_sessions_total', { protocol: 'postgres', target: 'app', outcome: 'ok' })).toBe(1);
    expect(v('dbwarden_sessions_total', { protocol: 'postgres', outcome: 'auth_failed' })).toBe(1);
    expect(v('dbwarden_session_terminations_total', { reason: 'revoked' })).toBe(1);
    expect(v('dbwarden_session_terminations_total', { reason: 'expired' })).toBe(0);
    expect(v('dbwarden_statements_total', { target: 'app', action: 'allow' })).toBeGreaterThanOrEqual(2);
    expect(v('dbwarden_statements_total', { target: 'app', action: 'block' })).toBe(2);
    expect(v('dbwarden_rule_matches_total', { rule: 'unscoped-write', action: 'block' })).toBe(1);
    expect(v('dbwarden_parse_failures_total', { dialect: 'postgres' })).toBe(1);
    expect(v('dbwarden_statement_cache_hits_total')).toBeGreaterThanOrEqual(1);
    expect(v('dbwarden_statement_cache_misses_total')).toBeGreaterThanOrEqual(3);
    expect(v('dbwarden_statement_check_seconds_count', { dialect: 'postgres' })).toBe(v('dbwarden_statement_cache_misses_total'));
    // microsecond resolution: the first bucket is 1 µs and there are buckets below 100 µs
    const les = samples.filter((s) => s.name === 'dbwarden_statement_check_seconds_bucket' && s.labels.dialect === 'postgres').map((s) => Number(s.labels.le)).filter(Number.isFinite);
    expect(Math.min(...les)).toBeLessThanOrEqual(1e-6);
    expect(les.filter((le) => le < 1e-4).length).toBeGreaterThanOrEqual(4);
    expect(v('dbwarden_grants_active', { target: 'app', access: 'admin' })).toBe(1);
    expect(v('dbwarden_grants_active', { target: 'app', access: 'write' })).toBe(0);
    expect(v('dbwarden_grant_requests_total', { status: 'active' })).toBe(2);
    expect(v('dbwarden_upstream_connect_seconds_count', { target: 'app' })).toBe(1);
    expect(v('dbwarden_upstream_connect_seconds_sum', { target: 'app' })).toBeGreaterThan(0);
    expect(v('dbwarden_bytes_total', { protocol: 'postgres', direction: 'client_to_upstream' })).toBeGreaterThan(0);
    expect(v('dbwarden_bytes_total', { protocol: 'postgres', direction: 'upstream_to_client' })).toBeGreaterThan(0);
    expect(types.get('process_cpu_user_seconds_total')).toBe('counter');
    expect(types.get('nodejs_eventloop_lag_p99_seconds')).toBe('gauge');

    // bounded label values: no login, password, statement text or identity token anywhere in the output
    for (const leak of [cred.login, cred.password, 'wrong-password-123', 'obs_nowhere', 'garbage', 'select 1']) expect(text).not.toContain(leak);

    const check = await promtoolCheckMetrics(text);
    expect(check.output).toBe('');
    expect(check.code).toBe(0);
  }, 60_000);
});
