// mysql_native_password: SHA1 challenge-response, client side (token) and server side (check against SHA1(SHA1(pw))).
//
// The server keeps only SHA1(SHA1(pw)). Defends against a stolen store yielding the password (it does not,
// though the verifier plus one captured exchange reveals SHA1(pw), a password equivalent: use TLS).
import { createHash, timingSafeEqual } from 'node:crypto';

const SCRAMBLE_LEN = 20;

function sha1(...parts: Buffer[]): Buffer {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** The handshake carries 20 scramble bytes plus a NUL terminator; accept either form. */
function scramble20(scramble: Buffer): Buffer {
  return scramble.length === SCRAMBLE_LEN + 1 && scramble[SCRAMBLE_LEN] === 0 ? scramble.subarray(0, SCRAMBLE_LEN) : scramble;
}

/** hex SHA1(SHA1(password)), lowercase ('' for the empty password, as MySQL stores it). */
export function nativeVerifier(password: string): string {
  if (password === '') return '';
  return sha1(sha1(Buffer.from(password, 'utf8'))).toString('hex');
}

/** Client token: SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw))); empty for the empty password. */
export function nativeToken(password: string, scramble: Buffer): Buffer {
  if (password === '') return Buffer.alloc(0);
  const stage1 = sha1(Buffer.from(password, 'utf8'));
  const stage2 = sha1(stage1);
  const mix = sha1(scramble20(scramble), stage2);
  for (let i = 0; i < stage1.length; i++) stage1[i] = stage1[i]! ^ mix[i]!;
  return stage1;
}

/** Server check from the stored verifier only. Never throws on client input. */
export function nativeCheck(verifierHex: string, scramble: Buffer, token: Buffer): boolean {
  if (token.length === 0) return verifierHex === '';
  if (token.length !== SCRAMBLE_LEN || !/^[0-9a-fA-F]{40}$/.test(verifierHex)) return false;
  const stage2 = Buffer.from(verifierHex, 'hex');
  const mix = sha1(scramble20(scramble), stage2);
  const stage1 = Buffer.alloc(SCRAMBLE_LEN);
  for (let i = 0; i < SCRAMBLE_LEN; i++) stage1[i] = token[i]! ^ mix[i]!;
  // Constant time: an early-exit compare would let a client learn the verifier byte by byte.
  return timingSafeEqual(sha1(stage1), stage2);
}
