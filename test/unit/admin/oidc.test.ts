// OIDC bearer tokens: jose verification against a JWKS file, claim mapping, and coexistence with config tokens.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOidcVerifier, looksLikeJwt, type OidcSettings } from '../../../src/admin/oidc.js';
import { createAuthenticator } from '../../../src/admin/token-auth.js';

const ISSUER = 'https://idp.example.test';
const dir = mkdtempSync(join(tmpdir(), 'dbw-oidc-'));
const jwksFile = join(dir, 'jwks.json');
let key: CryptoKey;
let otherKey: CryptoKey;
let settings: OidcSettings;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256');
  key = pair.privateKey;
  otherKey = (await generateKeyPair('RS256')).privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  writeFileSync(jwksFile, JSON.stringify({ keys: [jwk] }));
  settings = { issuer: ISSUER, audience: 'dbwarden', jwksFile, groupsClaim: 'groups', identityClaim: 'preferred_username' };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function token(claims: Record<string, unknown>, opts: { signer?: CryptoKey; iss?: string; aud?: string; exp?: string | number | null } = {}): Promise<string> {
  let jwt = new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer(opts.iss ?? ISSUER).setAudience(opts.aud ?? 'dbwarden').setIssuedAt();
  if (opts.exp !== null) jwt = jwt.setExpirationTime(opts.exp ?? '5m');
  return jwt.sign(opts.signer ?? key);
}

describe('createOidcVerifier', () => {
  it('maps a valid token to its identity and groups', async () => {
    const verify = createOidcVerifier(settings);
    expect(await verify(await token({ preferred_username: 'ci-deploy', groups: ['deploy', 'ci'] }))).toEqual({ name: 'ci-deploy', groups: ['deploy', 'ci'] });
    expect(await verify(await token({ preferred_username: 'ann@example.com', groups: 'dev dba' }))).toEqual({ name: 'ann@example.com', groups: ['dev', 'dba'] });
  });

  it('reads dotted claim paths (e.g. Keycloak realm roles)', async () => {
    const verify = createOidcVerifier({ ...settings, groupsClaim: 'realm_access.roles', identityClaim: 'sub' });
    expect(await verify(await token({ sub: 'svc1', realm_access: { roles: ['dba', 7] } }))).toEqual({ name: 'svc1', groups: ['dba'] });
  });

  it('refuses a wrong signature, issuer, audience, an expired token, one without exp and a bad identity claim', async () => {
    const verify = createOidcVerifier(settings);
    const good = { preferred_username: 'x', groups: [] };
    expect(await verify(await token(good, { signer: otherKey }))).toBeUndefined();
    expect(await verify(await token(good, { iss: 'https://evil.test' }))).toBeUndefined();
    expect(await verify(await token(good, { aud: 'someone-else' }))).toBeUndefined();
    expect(await verify(await token(good, { exp: Math.floor(Date.now() / 1000) - 120 }))).toBeUndefined();
    expect(await verify(await token(good, { exp: null }))).toBeUndefined();
    expect(await verify(await token({ preferred_username: 'group:dba' }))).toBeUndefined();
    expect(await verify(await token({ groups: ['dba'] }))).toBeUndefined();
    // alg none: an unsigned token with the right claims
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const unsigned = `${b64({ alg: 'none' })}.${b64({ iss: ISSUER, aud: 'dbwarden', preferred_username: 'x', exp: Math.floor(Date.now() / 1000) + 60 })}.x`;
    expect(await verify(unsigned)).toBeUndefined();
  });

  it('refuses a JWKS file with private key material', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const file = join(dir, 'private.json');
    writeFileSync(file, JSON.stringify({ keys: [await exportJWK(privateKey)] }));
    expect(() => createOidcVerifier({ ...settings, jwksFile: file })).toThrow(/private or symmetric/);
    expect(() => createOidcVerifier({ ...settings, jwksFile: join(dir, 'missing.json') })).toThrow(/oidc.jwksFile/);
  });
});

describe('createAuthenticator', () => {
  it('accepts config tokens and OIDC tokens side by side', async () => {
    const sha = (t: string) => createHash('sha256').update(t).digest('hex');
    const auth = createAuthenticator({ identities: { alice: { tokenSha256: sha('tok-alice'), groups: ['dev'] } }, oidc: createOidcVerifier(settings) });
    expect(await auth('Bearer tok-alice')).toEqual({ name: 'alice', groups: ['dev'] });
    expect(await auth(`Bearer ${await token({ preferred_username: 'bob', groups: ['dba'] })}`)).toEqual({ name: 'bob', groups: ['dba'] });
    expect(await auth('Bearer a.b.c')).toBeUndefined();
    expect(await auth(undefined)).toBeUndefined();
    const noOidc = createAuthenticator({ identities: {} });
    expect(await noOidc(`Bearer ${await token({ preferred_username: 'bob' })}`)).toBeUndefined();
    expect(looksLikeJwt('abc')).toBe(false);
  });
});
