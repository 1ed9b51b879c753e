// mysql_native_password: MariaDB's PASSWORD() vector, a hand-derived token and server checks.
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { nativeCheck, nativeToken, nativeVerifier } from '../../../src/auth/mysql-native-password.js';

const sha1 = (b: Buffer | string) => createHash('sha1').update(b).digest();

describe('mysql_native_password', () => {
  it('verifier matches MariaDB PASSWORD()', () => {
    // mariadb -h127.0.0.1 -uroot -N -e "select password('password')"
    expect('*' + nativeVerifier('password').toUpperCase()).toBe('*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19');
    expect(nativeVerifier('')).toBe('');
  });

  it('token follows SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw)))', () => {
    const scramble = Buffer.from('0123456789abcdefghij');
    const s1 = sha1('password');
    const mix = sha1(Buffer.concat([scramble, sha1(s1)]));
    const expected = Buffer.from(s1.map((b, i) => b ^ mix[i]!));
    expect(nativeToken('password', scramble).equals(expected)).toBe(true);
    // the 21-byte form with the handshake's NUL terminator gives the same token
    expect(nativeToken('password', Buffer.concat([scramble, Buffer.from([0])])).equals(expected)).toBe(true);
  });

  it('round trip: the server accepts the right password only', () => {
    const verifier = nativeVerifier('s3cret-Pass');
    for (let i = 0; i < 20; i++) {
      const scramble = randomBytes(20);
      expect(nativeCheck(verifier, scramble, nativeToken('s3cret-Pass', scramble))).toBe(true);
      expect(nativeCheck(verifier, scramble, nativeToken('s3cret-Pasz', scramble))).toBe(false);
      // a token for another scramble (replay) fails
      expect(nativeCheck(verifier, randomBytes(20), nativeToken('s3cret-Pass', scramble))).toBe(false);
    }
    expect(nativeCheck(verifier.toUpperCase(), Buffer.alloc(20, 7), nativeToken('s3cret-Pass', Buffer.alloc(20, 7)))).toBe(true);
  });

  it('empty token means empty password', () => {
    const scramble = randomBytes(20);
    expect(nativeToken('', scramble).length).toBe(0);
    expect(nativeCheck('', scramble, Buffer.alloc(0))).toBe(true);
    expect(nativeCheck(nativeVerifier('x'), scramble, Buffer.alloc(0))).toBe(false);
    expect(nativeCheck('', scramble, nativeToken('x', scramble))).toBe(false);
  });

  it('malformed tokens and verifiers fail without throwing', () => {
    const scramble = randomBytes(20);
    const v = nativeVerifier('pw');
    expect(nativeCheck(v, scramble, Buffer.alloc(19))).toBe(false);
    expect(nativeCheck(v, scramble, Buffer.alloc(21))).toBe(false);
    expect(nativeCheck('zz', scramble, nativeToken('pw', scramble))).toBe(false);
  });
});
