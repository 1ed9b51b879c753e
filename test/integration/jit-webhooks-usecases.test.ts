// Webhooks received by a local HTTP server (one endpoint failing at first), and the field use cases: a CI
// migration on a 10-minute deploy grant, break-glass admin access with an alert, a contractor kept to one database.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signWebhook } from '../../src/notify/webhook-notifier.js';
import { adminSql, type TestBroker } from '../helpers/broker.js';
import { api, cleanupDirs, connect, connectError, flushRedisDb, grantFor, startJitBroker, until } from './jit-helpers.js';

const DB = 8;
const SECRET = 'hook-secret-for-tests';
interface Hook {
  path: string;
  headers: IncomingHttpHeaders;
  raw: string;
  body: { id: string; event: string; at: string; text: string; data: Record<string, any> };
}
const hooks: Hook[] = [];
let flakyCalls = 0;
let server: Server;
let b: TestBroker;
const table = 'jit_migration_' + Date.now();

beforeAll(async () => {
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const path = req.url ?? '/';
      if (path === '/flaky' && ++flakyCalls <= 2) {
        res.statusCode = 503;
        res.end();
        return;
      }
      hooks.push({ path, headers: req.headers, raw, body: JSON.parse(raw) });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await flushRedisDb(DB);
  b = await startJitBroker({
    redis: `redis://127.0.0.1:6379/${DB}`,
    extra: {
      targets: {
        app: {
          protocol: 'postgres', host: '127.0.0.1', port: 5432, databases: ['dbw_app', 'postgres'], tls: 'disable', rulesets: ['safe-defaults'],
          roles: { read: { user: 'dbw_ro', password: 'dbw_ro_secret' }, write: { user: 'dbw_rw', password: 'dbw_rw_secret' }, admin: { user: 'postgres' } },
        },
        other: {
          protocol: 'postgres', host: '127.0.0.1', port: 5432, databases: ['dbw_other'], tls: 'disable', rulesets: ['safe-defaults'],
          roles: { read: { user: 'dbw_ro', password: 'dbw_ro_secret' }, write: { user: 'dbw_rw', password: 'dbw_rw_secret' }, admin: { user: 'postgres' } },
        },
      },
      notify: {
        webhooks: [
          { url: `${base}/all`, events: ['*'], secret: SECRET },
          { url: `${base}/flaky`, events: ['grant.activated'] },
        ],
      },
    },
  });
});
afterAll(async () => {
  await b?.close();
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await adminSql(`drop table if exists ${table}`).catch(() => undefined);
  cleanupDirs();
});

const received = (path: string, event: string, match: (d: Record<string, any>) => boolean) =>
  until(`${event} on ${path}`, () => hooks.find((h) => h.path === path && h.body.event === event && match(h.body.data)), 8000);

describe('field use cases with webhooks', () => {
  it('CI: a deploy token gets a 10-minute write grant, runs a migration through the broker, and the grant ends', async () => {
    const req = await api(b, 'ci', 'POST', '/v1/requests', { target: 'app', access: 'write', ttl: '10m', reason: 'deploy v1.2.3 migration', databases: ['dbw_app'] });
    expect(req.status).toBe(201);
    expect(req.body.request).toMatchObject({ status: 'active', policy: 'deploy-write' });
    const cred = req.body.grant;
    const ttl = Date.parse(cred.expiresAt) - Date.parse(req.body.request.decidedAt ?? new Date().toISOString());
    expect(Math.abs(ttl - 600_000)).toBeLessThan(2000);
    // a longer ask is over the deploy policy's limit
    expect((await api(b, 'ci', 'POST', '/v1/requests', { target: 'app', access: 'write', ttl: '1h', reason: 'x', databases: ['dbw_app'] })).status).toBe(422);

    const s = await connect(b, cred);
    await s.client.query(`create table ${table} (id int primary key, name text not null)`);
    await s.client.query(`insert into ${table} (id, name) values (1, 'first'), (2, 'second')`);
    const blocked = await s.client.query(`drop table ${table}`).catch((e) => e);
    expect(blocked.code).toBe('42501');
    expect((await s.client.query(`select count(*)::int as n from ${table}`)).rows[0].n).toBe(2);

    expect((await api(b, 'ci', 'POST', `/v1/grants/${cred.grantId}/revoke`, { reason: 'deploy finished' })).status).toBe(200);
    expect((await s.ended).message).toMatch(/^dbwarden: grant revoked/);
    expect((await connectError(b, cred)).code).toBe('28P01');
    const rows = (await adminSql(`select id, name from ${table} order by id`)) as { rows: unknown[] };
    expect(rows.rows).toEqual([{ id: 1, name: 'first' }, { id: 2, name: 'second' }]);

    // the webhook trail of the deploy, signed
    const created = await received('/all', 'request.created', (d) => d.requestId === req.body.request.id);
    expect(created.body.text).toMatch(/ci requests write access to app for 10m: "deploy v1.2.3 migration"/);
    expect(created.headers['x-dbwarden-signature']).toBe(signWebhook(SECRET, String(created.headers['x-dbwarden-timestamp']), created.raw));
    await received('/all', 'grant.activated', (d) => d.grantId === cred.grantId);
    const blockedHook = await received('/all', 'statement.blocked', (d) => d.grant === cred.grantId);
    expect(blockedHook.body.data.rules).toContain('drop');
    expect(blockedHook.raw).not.toContain(`drop table ${table}`);
    const revoked = await received('/all', 'grant.revoked', (d) => d.grantId === cred.grantId);
    expect(revoked.body.data).toMatchObject({ actor: 'ci', reason: 'deploy finished' });
  });

  it('break-glass: admin access under an alert policy raises a webhook on every endpoint', async () => {
    const cred = await grantFor(b, 'bob', { access: 'admin', ttl: '15m', reason: 'incident 4711: stuck locks' });
    const s = await connect(b, cred);
    expect((await s.client.query('select current_user as u')).rows[0].u).toBe('postgres');
    const alert = await received('/all', 'break-glass.used', (d) => d.grantId === cred.grantId);
    expect(alert.body.text).toMatch(/break-glass: bob has admin access to app/);
    expect(alert.body.data).toMatchObject({ identity: 'bob', access: 'admin', policy: 'break-glass', alert: true });
    // the endpoint subscribed to grant.activated only gets the alert too, after failing twice and being retried
    await received('/flaky', 'break-glass.used', (d) => d.grantId === cred.grantId);
    await received('/flaky', 'grant.activated', (d) => d.grantId === cred.grantId);
    expect(flakyCalls).toBeGreaterThanOrEqual(4);
    await s.client.end();
  });

  it('contractor: one database of one target, nothing else', async () => {
    const cred = await grantFor(b, 'contractor', { access: 'write', ttl: '30m' });
    const s = await connect(b, cred);
    expect((await s.client.query('select current_database() as d')).rows[0].d).toBe('dbw_app');
    await s.client.end();
    const otherDb = await api(b, 'contractor', 'POST', '/v1/requests', { target: 'app', access: 'read', ttl: '10m', reason: 'x', databases: ['postgres'] });
    expect(otherDb.status).toBe(403);
    const otherTarget = await api(b, 'contractor', 'POST', '/v1/requests', { target: 'other', access: 'read', ttl: '10m', reason: 'x', databases: ['dbw_other'] });
    expect(otherTarget.status).toBe(403);
    expect((await api(b, 'contractor', 'POST', '/v1/requests', { target: 'app', access: 'admin', ttl: '10m', reason: 'x', databases: ['dbw_app'] })).status).toBe(403);
    // the grant names dbw_app only: connecting to another database of the target is refused
    expect((await connectError(b, cred, 'postgres')).code).toBe('42501');
  });
});
