// caching_sha2_password: the SHA256 fast path (token) and the full path (cleartext over TLS, or RSA-OAEP encrypted).
//
// The server keeps only SHA256(SHA256(pw)). The fast path needs nothing more; the full path receives the
// password itself, so it must only run over TLS or RSA (defends against sniffing the cleartext password).
import { constants, createHash, privateDecrypt, publicEncrypt, timingSafeEqual } from 'node:crypto';

const DIGEST_LEN = 32;

function sha256(...parts: Buffer[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** The handshake carries 20 scramble bytes plus a NUL terminator; accept either form. */
function scramble20(scramble: Buffer): Buffer {
  return scramble.length === 21 && scramble[20] === 0 ? scramble.subarray(0, 20) : scramble;
}

/** hex SHA256(SHA256(password)), lowercase. */
export function cachingSha2Verifier(password: string): string {
  return sha256(sha256(Buffer.from(password, 'utf8'))).toString('hex');
}

/** Client token: XOR(SHA256(pw), SHA256(SHA256(SHA256(pw)) + scramble)); empty for the empty password. */
export function cachingSha2Token(password: string, scramble: Buffer): Buffer {
  if (password === '') return Buffer.alloc(0);
  const stage1 = sha256(Buffer.from(password, 'utf8'));
  const mix = sha256(sha256(stage1), scramble20(scramble));
  for (let i = 0; i < DIGEST_LEN; i++) stage1[i] = stage1[i]! ^ mix[i]!;
  return stage1;
}

function verifierBytes(verifierHex: string): Buffer | undefined {
  return /^[0-9a-fA-F]{64}$/.test(verifierHex) ? Buffer.from(verifierHex, 'hex') : undefined;
}

/** Server fast path from the stored SHA256(SHA256(pw)) only. Never throws on client input. */
export function cachingSha2Check(verifierHex: string, scramble: Buffer, token: Buffer): boolean {
  const stage2 = verifierBytes(verifierHex);
  if (!stage2 || token.length !== DIGEST_LEN) return false;
  const mix = sha256(stage2, scramble20(scramble));
  const stage1 = Buffer.alloc(DIGEST_LEN);
  for (let i = 0; i < DIGEST_LEN; i++) stage1[i] = token[i]! ^ mix[i]!;
  // Constant time: an early-exit compare would leak how close a forged token came.
  return timingSafeEqual(sha256(stage1), stage2);
}

/** Server full path: the client sent the password itself (over TLS, or decrypted from RSA). */
export function cachingSha2CheckCleartext(verifierHex: string, password: string): boolean {
  const stage2 = verifierBytes(verifierHex);
  if (!stage2) return false;
  return timingSafeEqual(sha256(sha256(Buffer.from(password, 'utf8'))), stage2);
}

function xorWithScramble(data: Buffer, scramble: Buffer): Buffer {
  const out = Buffer.alloc(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i]! ^ scramble[i % scramble.length]!;
  return out;
}

/**
 * Client side of the RSA exchange (no TLS): (password + NUL) XOR scramble, RSA-OAEP with SHA-1 as MySQL
 * 8.0.5+ expects. The XOR binds the ciphertext to this handshake's scramble: defends against replay.
 */
export function rsaEncryptPassword(password: string, scramble: Buffer, publicKeyPem: string | Buffer): Buffer {
  const plain = xorWithScramble(Buffer.concat([Buffer.from(password, 'utf8'), Buffer.from([0])]), scramble20(scramble));
  return publicEncrypt({ key: publicKeyPem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, plain);
}

/** Server side of the RSA exchange; undefined when the data does not decrypt (never throws on client input). */
export function rsaDecryptPassword(privateKeyPem: string | Buffer, data: Buffer, scramble: Buffer): string | undefined {
  let plain: Buffer;
  try {
    plain = privateDecrypt({ key: privateKeyPem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, data);
  } catch {
    return undefined;
  }
  const clear = xorWithScramble(plain, scramble20(scramble));
  const end = clear.indexOf(0);
  if (end < 0) return undefined;
  return clear.subarray(0, end).toString('utf8');
}
