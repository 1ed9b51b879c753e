// Grant credentials: login shape, password strength and alphabet, verifiers that the auth checks accept.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { cachingSha2Check, cachingSha2Token } from '../../../src/auth/caching-sha2-password.js';
import { computeVerifiers, generateLogin, generatePassword, type Verifiers } from '../../../src/auth/credentials.js';
import { nativeCheck, nativeToken } from '../../../src/auth/mysql-native-password.js';
import {
  scramClientContinue,
  scramClientStart,
  scramServerFinish,
  scramServerStart,
} from '../../../src/auth/scram-sha-256.js';
import type { Verifiers as GrantVerifiers } from '../../../src/grants/model.js';

describe('generateLogin', () => {
  it.each([
    ['alice', /^alice_[a-z0-9]{6}$/],
    ['Alice.Smith@example.com', /^alice_smith_example_com_[a-z0-9]{6}$/],
    ['ci-deploy bot', /^ci_deploy_bot_[a-z0-9]{6}$/],
    ['42', /^u_42_[a-z0-9]{6}$/],
    ['', /^u_[a-z0-9]{6}$/],
    ['Ünïcödé', /^unicode_[a-z0-9]{6}$/],
    ["x'; drop role postgres; --", /^x_drop_role_postgres_[a-z0-9]{6}$/],
  ])('%j → %s', (identity, re) => {
    const login = generateLogin(identity);
    expect(login).toMatch(re);
  });

  it('is at most 32 chars, a valid unquoted identifier, and random', () => {
    const long = generateLogin('a'.repeat(100) + '_bbbbbbbbbbbbbbbbb');
    expect(long.length).toBeLessThanOrEqual(32);
    expect(generateLogin('x'.repeat(24) + '_y').length).toBeLessThanOrEqual(32);
    expect(generateLogin('x'.repeat(24) + '_y')).not.toMatch(/__/);
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const l = generateLogin('some.very-long identity name with spaces');
      expect(l).toMatch(/^[a-z][a-z0-9_]{0,31}$/);
      seen.add(l);
    }
    expect(seen.size).toBe(200);
  });
});

describe('generatePassword', () => {
  it('is 32 base62 chars (≥160 bits), URL- and shell-safe, and unique', () => {
    const seen = new Set<string>();
    const chars = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const p = generatePassword();
      expect(p).toMatch(/^[A-Za-z0-9]{32}$/);
      expect(encodeURIComponent(p)).toBe(p);
      expect(32 * Math.log2(62)).toBeGreaterThanOrEqual(160);
      seen.add(p);
      for (const c of p) chars.add(c);
    }
    expect(seen.size).toBe(500);
    expect(chars.size).toBe(62); // the whole alphabet is in use
  });
});

describe('computeVerifiers', () => {
  it('produces verifiers each auth path accepts for that password only', () => {
    const pw = generatePassword();
    const v: Verifiers = computeVerifiers(pw);
    const asGrant: GrantVerifiers = v; // structurally identical to the grants model
    expect(Object.keys(asGrant).sort()).toEqual(['cachingSha2', 'mysqlNative', 'scramSha256']);

    const c1 = scramClientStart();
    const s1 = scramServerStart(v.scramSha256, c1.clientFirst);
    if (!s1.ok) throw new Error(s1.reason);
    const c2 = scramClientContinue(c1.state, pw, s1.serverFirst);
    if (!c2.ok) throw new Error(c2.reason);
    expect(scramServerFinish(s1.state, c2.clientFinal).ok).toBe(true);

    const scramble = randomBytes(20);
    expect(nativeCheck(v.mysqlNative, scramble, nativeToken(pw, scramble))).toBe(true);
    expect(cachingSha2Check(v.cachingSha2, scramble, cachingSha2Token(pw, scramble))).toBe(true);
    expect(nativeCheck(v.mysqlNative, scramble, nativeToken(pw + 'x', scramble))).toBe(false);
    expect(JSON.stringify(v)).not.toContain(pw);
  });
});
