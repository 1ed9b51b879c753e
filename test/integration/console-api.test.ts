// The admin API routes behind the web console, on a live broker with real PostgreSQL: targets, whoami, audit trail
// with filters, audit verify (intact and tampered), stats, rule sets, OpenAPI, and the console's public config and headers.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRoutes } from '../../src/admin/routes.js';
import { ROUTE_DOCS, openApiPath } from '../../src/admin/openapi.js';
import { consoleRoutes } from '../../src/admin/ui-api.js';
import { parseConfig } from '../../src/config/load.js';
import { startTestBroker, testConfigObject, TOKENS, type TestBroker } from '../helpers/broker.js';
import { stringify } from 'yaml';

const ACCESS = [
  { name: 'read-self-service', requesters: ['*'], access: ['read'], maxTtl: '8h', approvals: 0 },
  { name: 'write-needs-dba', requesters: ['group:dev'], access: ['write'], maxTtl: '2h', approvals: 1, approvers: ['group:dba'] },
  { name: 'break-glass', requesters: ['group:dba'], access: ['admin'], maxTtl: '30m', approvals: 0 },
];

let b: TestBroker;
const get = async (who: keyof typeof TOKENS | null, path: string) => {
  const res = await fetch(`${b.admin.url}${path}`, { headers: who ? { authorization: `Bearer ${TOKENS[who]}` } : {} });
  return { status: res.status, headers: res.headers, body: (await res.json().catch(() => undefined)) as any };
};

beforeAll(async () => {
  b = await startTestBroker({
    access: ACCESS,
    oidc: {
      issuer: 'https://idp.example.test', audience: 'dbwarden', jwksFile: join(process.cwd(), 'test/fixtures/console-jwks.json'),
      console: { authorizationEndpoint: 'https://idp.example.test/authorize', tokenEndpoint: 'https://idp.example.test:8443/token', clientId: 'dbwarden-console' },
    },
  });
});
afterAll(async () => {
  await b?.close();
});

describe('console API', () => {
  it('GET /v1/targets lists what each identity may request, with max TTL and approvals', async () => {
    const alice = await get('alice', '/v1/targets');
    expect(alice.status).toBe(200);
    expect(alice.body).toEqual([{
      name: 'app', protocol: 'postgres', databases: ['dbw_app', 'postgres'], rulesets: ['safe-defaults'],
      access: [
        { access: 'read', policy: 'read-self-service', maxTtl: '8h', approvals: 0, approvers: [], databases: ['dbw_app', 'postgres'] },
        { access: 'write', policy: 'write-needs-dba', maxTtl: '2h', approvals: 1, approvers: ['group:dba'], databases: ['dbw_app', 'postgres'] },
      ],
    }]);
    const bob = await get('bob', '/v1/targets');
    expect(bob.body[0].access.map((a: { access: string }) => a.access)).toEqual(['read', 'admin']);
    expect((await get(null, '/v1/targets')).status).toBe(401);
    expect((await get('ci', '/v1/whoami')).body).toEqual({ name: 'ci', groups: ['deploy'] });
  });

  it('GET /v1/audit filters by identity, grant, type, action, rule and time; /v1/stats counts from it', async () => {
    const since = new Date().toISOString();
    const g = await b.grant({ who: 'ci', access: 'read' });
    const c = new pg.Client({ connectionString: b.url(g) });
    await c.connect();
    await c.query("SELECT 'console-api-probe'");
    await expect(c.query('DELETE FROM dbw_console_none')).rejects.toThrow(/unscoped-write/);
    await c.end();
    await new Promise((r) => setTimeout(r, 200));

    const all = await get('bob', `/v1/audit?grant=${g.grantId}`);
    expect(all.status).toBe(200);
    const types = all.body.events.map((e: { type: string }) => e.type);
    expect(types).toEqual(expect.arrayContaining(['grant.activated', 'session.started', 'statement', 'session.ended']));
    // oldest first
    const seqs = all.body.events.map((e: { seq: number }) => e.seq);
    expect([...seqs].sort((x, y) => x - y)).toEqual(seqs);

    const blocked = await get('bob', `/v1/audit?grant=${g.grantId}&type=statement&action=block`);
    expect(blocked.body.events).toHaveLength(1);
    expect(blocked.body.events[0]).toMatchObject({ text: 'DELETE FROM dbw_console_none', rules: expect.arrayContaining(['unscoped-write']), identity: 'ci' });
    const byRule = await get('bob', `/v1/audit?rule=unscoped-write&identity=ci&since=${encodeURIComponent(since)}`);
    expect(byRule.body.events.map((e: { text: string }) => e.text)).toEqual(['DELETE FROM dbw_console_none']);
    expect((await get('bob', `/v1/audit?identity=ci&until=${encodeURIComponent(since)}`)).body.events).toEqual([]);
    const limited = await get('bob', `/v1/audit?grant=${g.grantId}&limit=2`);
    expect(limited.body.events).toHaveLength(2);
    expect(limited.body.truncated).toBe(true);
    expect(limited.body.events[1].seq).toBe(seqs.at(-1));
    expect((await get('bob', '/v1/audit?since=yesterday')).status).toBe(400);
    expect((await get('bob', '/v1/audit?limit=0')).status).toBe(400);
    expect((await get(null, '/v1/audit')).status).toBe(401);

    const stats = await get('bob', '/v1/stats?minutes=10');
    expect(stats.body.buckets).toHaveLength(10);
    const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
    expect(sum(stats.body.statements.block)).toBeGreaterThanOrEqual(1);
    expect(sum(stats.body.statements.allow)).toBeGreaterThanOrEqual(1);
    expect(stats.body.topRules).toContainEqual({ rule: 'unscoped-write', count: expect.any(Number) });
    expect(stats.body.activeGrants.at(-1)).toBe((await b.service.listGrants()).length);
  });

  it('GET /v1/rulesets lists the loaded rule sets read-only', async () => {
    const r = await get('alice', '/v1/rulesets');
    const safe = r.body.find((s: { name: string }) => s.name === 'safe-defaults');
    expect(safe.rules.map((x: { id: string }) => x.id)).toContain('unscoped-write');
    expect(JSON.stringify(r.body)).not.toMatch(/\/rules\//);
  });

  it('GET /v1/openapi.json documents every route, without a token', async () => {
    const r = await get(null, '/v1/openapi.json');
    expect(r.status).toBe(200);
    expect(r.body.openapi).toMatch(/^3\./);
    const routes = [...buildRoutes({} as never), ...consoleRoutes({} as never, () => [])];
    for (const route of routes) {
      const path = openApiPath(route.path);
      expect(r.body.paths[path]?.[route.method.toLowerCase()], `${route.method} ${path}`).toBeDefined();
      expect(ROUTE_DOCS[`${route.method} ${path}`], `summary for ${route.method} ${path}`).toBeDefined();
    }
    expect(Object.keys(ROUTE_DOCS).length).toBe(routes.length);
  });

  it('/ui/config.json carries the public OIDC settings; the CSP lets the browser reach only the token endpoint besides itself', async () => {
    const r = await get(null, '/ui/config.json');
    expect(r.body.oidc).toEqual({
      issuer: 'https://idp.example.test', authorizationEndpoint: 'https://idp.example.test/authorize', tokenEndpoint: 'https://idp.example.test:8443/token',
      clientId: 'dbwarden-console', scopes: ['openid', 'profile'], useToken: 'id_token',
    });
    expect(r.headers.get('content-security-policy')).toContain("connect-src 'self' https://idp.example.test:8443;");
    expect(r.headers.get('set-cookie')).toBeNull();
  });

  it('oidc.console is strict: unknown keys and non-URLs are config errors', () => {
    const base = testConfigObject('/tmp/x');
    const oidc = (console: Record<string, unknown>) => stringify({ ...base, oidc: { issuer: 'https://i', audience: 'a', jwksFile: '/x', console } });
    expect(() => parseConfig(oidc({ authorizationEndpoint: 'https://i/a', tokenEndpoint: 'https://i/t', clientId: 'c', secret: 's' }), 'x.yaml', {})).toThrow(/secret/);
    expect(() => parseConfig(oidc({ authorizationEndpoint: 'javascript:alert(1)', tokenEndpoint: 'https://i/t', clientId: 'c' }), 'x.yaml', {})).toThrow(/authorizationEndpoint/);
  });

  it('GET /v1/audit/verify reports an intact chain, then the first broken line after tampering', async () => {
    const ok = await get('bob', '/v1/audit/verify');
    expect(ok.body).toMatchObject({ ok: true });
    expect(ok.body.count).toBeGreaterThan(3);
    const file = b.config.audit.file!;
    const lines = readFileSync(file, 'utf8').split('\n');
    const i = lines.findIndex((l) => l.includes('console-api-probe'));
    lines[i] = lines[i]!.replace('console-api-probe', 'console-api-PROBE');
    writeFileSync(file, lines.join('\n'));
    const broken = await get('bob', '/v1/audit/verify');
    expect(broken.body).toMatchObject({ ok: false, firstBrokenLine: i + 1 });
    expect(broken.body.reason).toMatch(/edited/);
  });
});
