// The admin HTTP API end to end: real server, real AccessService over EmbeddedStore, called with fetch.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixture, type Fixture } from './fixture.js';

let fx: Fixture;
beforeAll(async () => {
  fx = await startFixture();
});
afterAll(async () => {
  await fx?.close();
});

const readBody = { target: 'app', access: 'read', ttl: '30m', reason: 'debug ticket 42' };
const writeBody = { target: 'app', access: 'write', ttl: '1h', reason: 'fix order 7' };

describe('authentication', () => {
  it('refuses a missing token with 401 and the error shape', async () => {
    const r = await fx.call(undefined, 'GET', '/v1/grants');
    expect(r.status).toBe(401);
    expect(r.body).toEqual({ error: { code: 'BRK_UNAUTHENTICATED', message: expect.any(String) } });
    expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('refuses a wrong token, a non-bearer scheme and an empty bearer', async () => {
    expect((await fx.call('dbw_not-a-real-token', 'GET', '/v1/grants')).status).toBe(401);
    const basic = await fetch(fx.url + '/v1/grants', { headers: { authorization: `Basic ${fx.tokens.alice}` } });
    expect(basic.status).toBe(401);
    const empty = await fetch(fx.url + '/v1/grants', { headers: { authorization: 'Bearer ' } });
    expect(empty.status).toBe(401);
  });

  it('answers 401 before revealing whether a route exists', async () => {
    expect((await fx.call(undefined, 'GET', '/v1/nope')).status).toBe(401);
    expect((await fx.call(undefined, 'POST', '/v1/requests', readBody)).status).toBe(401);
  });

  it('accepts a valid token', async () => {
    const r = await fx.call('alice', 'GET', '/v1/grants');
    expect(r.status).toBe(200);
    expect(Array.isArray(r.body)).toBe(true);
  });
});

describe('requests and grants', () => {
  it('auto-approved request answers active with a password once; nothing secret leaks', async () => {
    const r = await fx.call('alice', 'POST', '/v1/requests', readBody);
    expect(r.status).toBe(201);
    expect(r.body.request).toMatchObject({ id: expect.any(String), status: 'active', requester: 'alice', target: 'app', access: 'read' });
    expect(r.body.grant).toMatchObject({ login: expect.stringMatching(/^alice_/), password: expect.any(String), expiresAt: expect.any(String) });
    expect(r.body.grant.password.length).toBeGreaterThanOrEqual(20);
    const text = JSON.stringify(r.body);
    expect(text).not.toContain('verifiers');
    expect(text).not.toContain('ro-secret');

    const g = await fx.call('alice', 'GET', `/v1/grants/${r.body.grant.grantId}`);
    expect(g.status).toBe(200);
    expect(JSON.stringify(g.body)).not.toContain('verifiers');
    expect(g.body.password).toBeUndefined();

    const ev = fx.audit.find((e) => e.type === 'admin.request' && (e as { requestId?: string }).requestId === r.body.request.id);
    expect(ev).toMatchObject({ actor: 'alice', ok: true, status: 'active' });
    expect(JSON.stringify(fx.audit)).not.toContain(r.body.grant.password);
  });

  it('approval flow: self-approval 403, approver activates, credentials once then 410', async () => {
    const created = await fx.call('alice', 'POST', '/v1/requests', writeBody);
    expect(created.status).toBe(201);
    expect(created.body.request.status).toBe('pending');
    expect(created.body.grant).toBeUndefined();
    const id = created.body.request.id;

    const pending = await fx.call('bob', 'GET', '/v1/requests?status=pending');
    expect(pending.body.map((x: { id: string }) => x.id)).toContain(id);

    const self = await fx.call('alice', 'POST', `/v1/requests/${id}/approve`, {});
    expect(self.status).toBe(403);
    expect(self.body.error.code).toBe('BRK_FORBIDDEN');
    expect(fx.audit.some((e) => e.type === 'admin.approve' && e.actor === 'alice' && (e as { ok?: boolean }).ok === false)).toBe(true);

    const approved = await fx.call('bob', 'POST', `/v1/requests/${id}/approve`, { comment: 'ok' });
    expect(approved.status).toBe(200);
    expect(approved.body.status).toBe('active');

    expect((await fx.call('bob', 'POST', `/v1/requests/${id}/credentials`)).status).toBe(403);
    const first = await fx.call('alice', 'POST', `/v1/requests/${id}/credentials`);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ grantId: expect.any(String), login: expect.stringMatching(/^alice_/), password: expect.any(String) });
    const second = await fx.call('alice', 'POST', `/v1/requests/${id}/credentials`);
    expect(second.status).toBe(410);
    expect(second.body.error.code).toBe('BRK_GONE');
  });

  it('deny takes a comment and the request ends denied', async () => {
    const created = await fx.call('carol', 'POST', '/v1/requests', writeBody);
    const id = created.body.request.id;
    const denied = await fx.call('bob', 'POST', `/v1/requests/${id}/deny`, { comment: 'not today' });
    expect(denied.status).toBe(200);
    expect(denied.body.status).toBe('denied');
    expect((await fx.call('bob', 'POST', `/v1/requests/${id}/approve`)).status).toBe(409);
  });

  it('ttl over the policy limit is 422, unknown ids 404, bad status filter 400', async () => {
    const over = await fx.call('alice', 'POST', '/v1/requests', { ...readBody, ttl: '9h' });
    expect(over.status).toBe(422);
    expect(over.body.error.code).toBe('BRK_POLICY_LIMIT');
    expect((await fx.call('alice', 'GET', '/v1/requests/req_missing')).status).toBe(404);
    expect((await fx.call('alice', 'GET', '/v1/grants/gr_missing')).status).toBe(404);
    expect((await fx.call('alice', 'GET', '/v1/requests?status=bogus')).status).toBe(400);
  });

  it('revoke ends the grant: gone from the active list, kept with ?all=1', async () => {
    const created = await fx.call('alice', 'POST', '/v1/requests', readBody);
    const grantId = created.body.grant.grantId;
    const revoked = await fx.call('alice', 'POST', `/v1/grants/${grantId}/revoke`, { reason: 'done' });
    expect(revoked.status).toBe(200);
    expect(revoked.body.status).toBe('revoked');
    const active = await fx.call('alice', 'GET', '/v1/grants');
    expect(active.body.map((g: { id: string }) => g.id)).not.toContain(grantId);
    const all = await fx.call('alice', 'GET', '/v1/grants?all=1');
    expect(all.body.find((g: { id: string }) => g.id === grantId)?.status).toBe('revoked');
    expect(fx.audit.some((e) => e.type === 'admin.revoke' && e.actor === 'alice' && (e as { grantId?: string }).grantId === grantId)).toBe(true);
  });

  it('extend moves expiresAt', async () => {
    const created = await fx.call('alice', 'POST', '/v1/requests', readBody);
    const grantId = created.body.grant.grantId;
    const before = Date.parse(created.body.grant.expiresAt);
    const extended = await fx.call('alice', 'POST', `/v1/grants/${grantId}/extend`, { ttl: '15m' });
    expect(extended.status).toBe(200);
    expect(Date.parse(extended.body.expiresAt)).toBeGreaterThan(before);
    expect((await fx.call('alice', 'POST', `/v1/grants/${grantId}/extend`, {})).status).toBe(400);
  });
});

describe('bodies and routes', () => {
  it('bad JSON is 400, a non-object body 400, a missing field 400 naming it', async () => {
    const bad = await fx.call('alice', 'POST', '/v1/requests', '{"target": ');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('BRK_BAD_REQUEST');
    expect((await fx.call('alice', 'POST', '/v1/requests', '[1,2]')).status).toBe(400);
    const missing = await fx.call('alice', 'POST', '/v1/requests', { target: 'app', access: 'read', ttl: '1m' });
    expect(missing.status).toBe(400);
    expect(missing.body.error.message).toContain('reason');
  });

  it('a body over 1 MiB is 413', async () => {
    const big = JSON.stringify({ ...readBody, reason: 'x'.repeat(1024 * 1024 + 10) });
    const r = await fx.call('alice', 'POST', '/v1/requests', big);
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe('BRK_MESSAGE_TOO_LARGE');
  });

  it('a streamed (chunked) body over 1 MiB is cut off with 413 without buffering it all', async () => {
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(fx.url + '/v1/requests', { method: 'POST', headers: { authorization: `Bearer ${fx.tokens.alice}`, 'transfer-encoding': 'chunked' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      let sent = 0;
      const pump = () => {
        while (sent < 4 * 1024 * 1024) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    expect(status).toBe(413);
  });

  it('unknown routes are 404 with the error shape; a wrong method too', async () => {
    const r = await fx.call('alice', 'GET', '/v1/nope');
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe('BRK_NOT_FOUND');
    expect((await fx.call('alice', 'DELETE', '/v1/grants')).status).toBe(404);
  });

  it('/v1/info tells clients where to connect', async () => {
    const r = await fx.call('carol', 'GET', '/v1/info');
    expect(r.status).toBe(200);
    expect(r.body.listen.postgres).toBe('0.0.0.0:7432');
    expect(r.body.targets.app).toEqual({ protocol: 'postgres', databases: ['app', 'analytics'] });
  });
});

describe('sessions, reviews, rules', () => {
  const session = (id: string, identity: string, grantId: string) => ({
    id, grantId, identity, target: 'app', database: 'app', protocol: 'postgres', client: '127.0.0.1:5555',
    startedAt: new Date().toISOString(), instance: 'test-1',
  });

  it('lists sessions; owner may kill, others 403, approvers of the grant may kill; unknown 404', async () => {
    const created = await fx.call('carol', 'POST', '/v1/requests', writeBody);
    const id = created.body.request.id;
    await fx.call('bob', 'POST', `/v1/requests/${id}/approve`);
    const grantId = (await fx.call('carol', 'GET', `/v1/requests/${id}`)).body.grantId;
    fx.sessions.push(session('ses_a', 'carol', grantId), session('ses_b', 'carol', grantId), session('ses_c', 'carol', grantId));

    const list = await fx.call('alice', 'GET', '/v1/sessions');
    expect(list.body.map((s: { id: string }) => s.id)).toEqual(['ses_a', 'ses_b', 'ses_c']);

    const foreign = await fx.call('alice', 'POST', '/v1/sessions/ses_a/kill');
    expect(foreign.status).toBe(403);
    expect((await fx.call('carol', 'POST', '/v1/sessions/ses_a/kill')).status).toBe(200);
    expect((await fx.call('bob', 'POST', '/v1/sessions/ses_b/kill')).status).toBe(200);
    expect(fx.killed).toEqual([{ id: 'ses_a', actor: 'carol' }, { id: 'ses_b', actor: 'bob' }]);
    expect((await fx.call('carol', 'POST', '/v1/sessions/ses_zzz/kill')).status).toBe(404);
    expect(fx.audit.some((e) => e.type === 'admin.kill' && e.actor === 'bob' && (e as { ok?: boolean }).ok === true)).toBe(true);
  });

  it('reviews list is empty and decisions are 404 until reviews are wired', async () => {
    const r = await fx.call('bob', 'GET', '/v1/reviews');
    expect(r.status).toBe(200);
    expect(r.body).toEqual([]);
    expect((await fx.call('bob', 'POST', '/v1/reviews/rev_1/approve')).status).toBe(404);
    expect((await fx.call('bob', 'POST', '/v1/reviews/rev_1/deny')).status).toBe(404);
  });

  it('rules check validates the body and passes the caller groups', async () => {
    const r = await fx.call('alice', 'POST', '/v1/rules/check', { sql: 'select 1', dialect: 'postgres' });
    expect(r.status).toBe(200);
    expect(r.body.action).toBe('allow');
    expect(fx.rulesCalls.at(-1)).toEqual({ sql: 'select 1', dialect: 'postgres', groups: ['dev'] });
    expect((await fx.call('alice', 'POST', '/v1/rules/check', { dialect: 'postgres' })).status).toBe(400);
    expect((await fx.call('alice', 'POST', '/v1/rules/check', { sql: 'x', dialect: 'oracle' })).status).toBe(400);
  });

  it('rules reload answers ok, or 422 with the lint errors', async () => {
    const ok = await fx.call('bob', 'POST', '/v1/rules/reload');
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ ok: true, rulesets: ['safe-defaults'] });
    fx.reloadResult = { ok: false, errors: [{ file: 'a.yaml', line: 3, message: 'bad' }] };
    const bad = await fx.call('bob', 'POST', '/v1/rules/reload');
    expect(bad.status).toBe(422);
    expect(bad.body.errors).toHaveLength(1);
    expect(bad.body.error.code).toBe('BRK_RULES_INVALID');
    expect(fx.audit.filter((e) => e.type === 'admin.rules.reload')).toHaveLength(2);
  });
});

describe('metrics and health', () => {
  it('/metrics needs no token and serves prometheus text with dbwarden_ metrics', async () => {
    const r = await fetch(fx.url + '/metrics');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await r.text();
    expect(text).toContain('dbwarden_grant_requests_total');
    expect(text).toContain('dbwarden_statement_check_seconds');
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  it('/healthz is 200; /readyz follows readiness with reasons', async () => {
    expect((await fx.call(undefined, 'GET', '/healthz')).status).toBe(200);
    expect((await fx.call(undefined, 'GET', '/readyz')).body).toEqual({ ok: true, reasons: [] });
    fx.readiness.ok = false;
    fx.readiness.reasons = ['store unavailable'];
    const r = await fx.call(undefined, 'GET', '/readyz');
    expect(r.status).toBe(503);
    expect(r.body).toEqual({ ok: false, reasons: ['store unavailable'] });
    fx.readiness.ok = true;
    fx.readiness.reasons = [];
  });
});
