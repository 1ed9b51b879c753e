// caching_sha2_password: derived token vector, fast-path round trip, cleartext check and the RSA exchange.
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  cachingSha2Check,
  cachingSha2CheckCleartext,
  cachingSha2Token,
  cachingSha2Verifier,
  rsaDecryptPassword,
  rsaEncryptPassword,
} from '../../../src/auth/caching-sha2-password.js';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest();

describe('caching_sha2_password', () => {
  it('verifier is hex SHA256(SHA256(pw))', () => {
    // sha256('password') = 5e884898…; sha256 of those 32 bytes computed independently here
    expect(sha256('password').toString('hex')).toBe('5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8');
    expect(cachingSha2Verifier('password')).toBe(sha256(sha256('password')).toString('hex'));
  });

  it('token follows XOR(SHA256(pw), SHA256(SHA256(SHA256(pw)) + scramble))', () => {
    const scramble = Buffer.from('abcdefghij0123456789');
    const s1 = sha256('password');
    const mix = sha256(Buffer.concat([sha256(s1), scramble]));
    const expected = Buffer.from(s1.map((b, i) => b ^ mix[i]!));
    expect(cachingSha2Token('password', scramble).equals(expected)).toBe(true);
    expect(cachingSha2Token('', scramble).length).toBe(0);
  });

  it('fast path works from the stored verifier only', () => {
    const verifier = cachingSha2Verifier('Tr0ub4dor&3');
    for (let i = 0; i < 20; i++) {
      const scramble = randomBytes(20);
      expect(cachingSha2Check(verifier, scramble, cachingSha2Token('Tr0ub4dor&3', scramble))).toBe(true);
      expect(cachingSha2Check(verifier, scramble, cachingSha2Token('Tr0ub4dor&4', scramble))).toBe(false);
      expect(cachingSha2Check(verifier, randomBytes(20), cachingSha2Token('Tr0ub4dor&3', scramble))).toBe(false);
    }
    expect(cachingSha2Check(verifier, randomBytes(20), Buffer.alloc(0))).toBe(false);
    expect(cachingSha2Check(verifier, randomBytes(20), Buffer.alloc(31))).toBe(false);
    expect(cachingSha2Check('nothex', randomBytes(20), Buffer.alloc(32))).toBe(false);
  });

  it('cleartext (full) check', () => {
    const verifier = cachingSha2Verifier('pässwörd');
    expect(cachingSha2CheckCleartext(verifier, 'pässwörd')).toBe(true);
    expect(cachingSha2CheckCleartext(verifier, 'passwörd')).toBe(false);
    expect(cachingSha2CheckCleartext('', 'x')).toBe(false);
  });

  it('RSA exchange round trip, bound to the scramble', () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    const scramble = randomBytes(20);
    const data = rsaEncryptPassword('a-long-password-longer-than-20-bytes', scramble, publicKey);
    expect(data.length).toBe(256);
    expect(rsaDecryptPassword(privateKey, data, scramble)).toBe('a-long-password-longer-than-20-bytes');
    // with another scramble the XOR mask differs: the NUL terminator lands elsewhere or nowhere
    expect(rsaDecryptPassword(privateKey, data, randomBytes(20))).not.toBe('a-long-password-longer-than-20-bytes');
    expect(rsaDecryptPassword(privateKey, Buffer.alloc(256, 1), scramble)).toBeUndefined();
    expect(rsaDecryptPassword(privateKey, Buffer.alloc(0), scramble)).toBeUndefined();
    const empty = rsaEncryptPassword('', scramble, publicKey);
    expect(rsaDecryptPassword(privateKey, empty, scramble)).toBe('');
  });
});
