// Console sign-in with OIDC in a real browser: authorization code + PKCE against a small test identity provider
// that checks the S256 challenge, then the ID token is the console's bearer token for the API.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CLIENT_ID = 'dbwarden-console';

interface Pending { challenge: string; method: string; nonce: string; redirectUri: string }

describe('console OIDC sign-in (authorization code + PKCE)', () => {
  let b: TestBroker;
  let browser: Browser;
  let idp: Server;
  let idpUrl = '';
  let key: CryptoKey;
  let jwksFile = '';
  const codes = new Map<string, Pending>();
  const seen: { authorize: URLSearchParams[]; token: URLSearchParams[] } = { authorize: [], token: [] };

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    key = pair.privateKey;
    // a minimal IdP: signs the user in at once as "dana" (groups dba) and enforces PKCE like a real one
    idp = createServer((req, res) => {
      const url = new URL(req.url ?? '/', idpUrl);
      if (url.pathname === '/authorize') {
        const q = url.searchParams;
        seen.authorize.push(q);
        if (q.get('client_id') !== CLIENT_ID || q.get('response_type') !== 'code' || !q.get('code_challenge')) {
          res.writeHead(400).end('bad authorize request');
          return;
        }
        const code = randomBytes(16).toString('hex');
        codes.set(code, { challenge: q.get('code_challenge')!, method: q.get('code_challenge_method') ?? '', nonce: q.get('nonce') ?? '', redirectUri: q.get('redirect_uri')! });
        const back = new URL(q.get('redirect_uri')!);
        back.searchParams.set('code', code);
        back.searchParams.set('state', q.get('state') ?? '');
        res.writeHead(302, { location: back.href }).end();
        return;
      }
      if (url.pathname === '/token' && req.method === 'POST') {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          const form = new URLSearchParams(body);
          seen.token.push(form);
          const cors = { 'access-control-allow-origin': req.headers.origin ?? '*', 'content-type': 'application/json' };
          const p = codes.get(form.get('code') ?? '');
          codes.delete(form.get('code') ?? '');
          const verifier = form.get('code_verifier') ?? '';
          const s256 = createHash('sha256').update(verifier).digest('base64url');
          if (!p || p.method !== 'S256' || s256 !== p.challenge || form.get('redirect_uri') !== p.redirectUri || form.get('client_id') !== CLIENT_ID) {
            res.writeHead(400, cors).end(JSON.stringify({ error: 'invalid_grant', error_description: 'PKCE or code check failed' }));
            return;
          }
          void new SignJWT({ preferred_username: 'dana', groups: ['dba'], nonce: p.nonce })
            .setProtectedHeader({ alg: 'ES256', kid: 'idp-1' }).setIssuer(idpUrl).setAudience(CLIENT_ID).setIssuedAt().setExpirationTime('5m').sign(key)
            .then((idToken) => res.writeHead(200, cors).end(JSON.stringify({ id_token: idToken, access_token: 'opaque', token_type: 'Bearer' })));
        });
        return;
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => idp.listen(0, '127.0.0.1', () => r()));
    idpUrl = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
    jwksFile = join(process.env.TMPDIR ?? '/tmp', `dbw-console-jwks-${randomBytes(4).toString('hex')}.json`);
    writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'idp-1', alg: 'ES256' }] }));
    b = await startTestBroker({
      oidc: {
        issuer: idpUrl, audience: CLIENT_ID, jwksFile, identityClaim: 'preferred_username', groupsClaim: 'groups',
        console: { authorizationEndpoint: `${idpUrl}/authorize`, tokenEndpoint: `${idpUrl}/token`, clientId: CLIENT_ID },
      },
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
  });

  afterAll(async () => {
    await browser?.close();
    await b?.close();
    await new Promise((r) => idp?.close(r));
    if (jwksFile) rmSync(jwksFile, { force: true });
  });

  it('signs in through the identity provider; the code is exchanged with the verifier and leaves the address bar', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${b.admin.url}/ui/`);
    await page.getByRole('button', { name: 'Sign in with single sign-on' }).click();
    await expect.poll(() => page.locator('.who').textContent(), { timeout: 10_000 }).toContain('dana');
    expect(await page.locator('.who').textContent()).toContain('dba');

    const auth = seen.authorize.at(-1)!;
    expect(auth.get('code_challenge_method')).toBe('S256');
    expect(auth.get('redirect_uri')).toBe(`${b.admin.url}/ui/`);
    expect(auth.get('scope')).toBe('openid profile');
    // the verifier travels only in the back-channel token request, never through the browser's address bar
    const verifier = seen.token.at(-1)!.get('code_verifier')!;
    expect(verifier.length).toBeGreaterThanOrEqual(43);
    expect([...auth.values()].join(' ')).not.toContain(verifier);
    expect(page.url()).toBe(`${b.admin.url}/ui/`);
    expect((await ctx.cookies()).length).toBe(0);
    // the console's API calls carry the ID token as bearer and the API accepts it
    const token = await page.evaluate<string | null>("sessionStorage.getItem('dbwarden.token')");
    expect(token?.split('.')).toHaveLength(3);
    const who = await fetch(`${b.admin.url}/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });
    expect(await who.json()).toEqual({ name: 'dana', groups: ['dba'] });
    expect(errors).toEqual([]);
    await ctx.close();
  }, 40_000);

  it('refuses an answer that does not belong to the tab (state mismatch): login CSRF', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    // a code obtained elsewhere, pushed into the victim's console
    await page.goto(`${b.admin.url}/ui/?code=stolen-or-injected&state=attacker`);
    await expect.poll(() => page.locator('[role=alert]').textContent(), { timeout: 5000 }).toContain('state mismatch');
    expect(await page.evaluate<string | null>("sessionStorage.getItem('dbwarden.token')")).toBeNull();
    expect(page.url()).toBe(`${b.admin.url}/ui/`);
    expect(seen.token.some((f) => f.get('code') === 'stolen-or-injected')).toBe(false);
    await ctx.close();
  });
});
