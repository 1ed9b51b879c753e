// OIDC bearer tokens on the admin API of a running broker: an IdP-issued JWT requests access through a group
// claim, configured tokens keep working, forged or foreign tokens get 401.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestBroker } from '../helpers/broker.js';
import { api, cleanupDirs, connect, startJitBroker, tempDir } from './jit-helpers.js';

const ISSUER = 'https://login.example.test/realms/ops';
let b: TestBroker;
let key: CryptoKey;
let foreign: CryptoKey;

beforeAll(async () => {
  const pair = await generateKeyPair('ES256');
  key = pair.privateKey;
  foreign = (await generateKeyPair('ES256')).privateKey;
  const jwksFile = join(tempDir(), 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'ops-1', alg: 'ES256' }] }));
  b = await startJitBroker({
    extra: { oidc: { issuer: ISSUER, audience: ['dbwarden', 'other'], jwksFile, groupsClaim: 'realm_access.roles', identityClaim: 'preferred_username' } },
  });
});
afterAll(async () => {
  await b?.close();
  cleanupDirs();
});

const jwt = (claims: Record<string, unknown>, signer = key) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'ops-1' }).setIssuer(ISSUER).setAudience('dbwarden').setIssuedAt().setExpirationTime('5m').sign(signer);

async function call(token: string, method: 'GET' | 'POST', path: string, body?: unknown) {
  const res = await fetch(`${b.admin.url}${path}`, {
    method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as any };
}

describe('admin API with OIDC tokens', () => {
  it('a JWT identity requests access by its group claim and logs in with the grant', async () => {
    const token = await jwt({ preferred_username: 'dana', realm_access: { roles: ['dev'] } });
    const r = await call(token, 'POST', '/v1/requests', { target: 'app', access: 'read', ttl: '10m', reason: 'oncall check', databases: ['dbw_app'] });
    expect(r.status).toBe(201);
    expect(r.body.request).toMatchObject({ requester: 'dana', requesterGroups: ['dev'], status: 'active' });
    expect(r.body.grant.login).toMatch(/^dana_[a-z0-9]{6}$/);
    const s = await connect(b, r.body.grant);
    expect((await s.client.query('select 1 as n')).rows[0].n).toBe(1);
    await s.client.end();
    // a write request by dev needs a dba: an OIDC dba approves it
    const w = await call(token, 'POST', '/v1/requests', { target: 'app', access: 'write', ttl: '10m', reason: 'fix', databases: ['dbw_app'] });
    expect(w.body.request.status).toBe('pending');
    const dba = await jwt({ preferred_username: 'erik', realm_access: { roles: ['dba'] } });
    expect((await call(dba, 'POST', `/v1/requests/${w.body.request.id}/approve`, {})).status).toBe(200);
  });

  it('configured tokens keep working; foreign, tampered and group-less tokens do not', async () => {
    expect((await api(b, 'alice', 'GET', '/v1/grants')).status).toBe(200);
    expect((await call(await jwt({ preferred_username: 'mallory', realm_access: { roles: ['dba'] } }, foreign), 'GET', '/v1/grants')).status).toBe(401);
    const good = await jwt({ preferred_username: 'dana', realm_access: { roles: ['dev'] } });
    const [h, p, sig] = good.split('.');
    const lifted = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), realm_access: { roles: ['dba'] } })).toString('base64url');
    expect((await call(`${h}.${lifted}.${sig}`, 'GET', '/v1/grants')).status).toBe(401);
    // authenticated but in no group a policy names: refused by policy, not by authentication
    const nobody = await jwt({ preferred_username: 'nobody' });
    expect((await call(nobody, 'POST', '/v1/requests', { target: 'app', access: 'read', ttl: '10m', reason: 'x', databases: ['dbw_app'] })).status).toBe(403);
  });
});
