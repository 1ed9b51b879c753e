// SCRAM-SHA-256 (RFC 5802 / RFC 7677) as PostgreSQL speaks it: verifiers, the server side and the client side.
//
// Defends against: password disclosure from a stolen store (only salted StoredKey/ServerKey are kept),
// replay (fresh server nonce per exchange), login enumeration (unknown logins run an indistinguishable
// exchange), timing attacks on the proof check (timingSafeEqual), and a fake upstream (the client
// verifies the ServerSignature before trusting the connection).
//
// PostgreSQL's variant: no channel binding is offered (we only advertise SCRAM-SHA-256, not -PLUS), so the
// GS2 header is `n,,` (client cannot bind) or `y,,` (client could, but thinks the server cannot); the
// username in client-first is ignored (the startup packet already named the user) and an authzid is refused.
import { createHash, createHmac, pbkdf2, pbkdf2Sync, randomBytes, randomFillSync, timingSafeEqual } from 'node:crypto';

const KEY_LEN = 32;
export const SCRAM_DEFAULT_ITERATIONS = 4096;
/** An upstream asking for more than this is treated as hostile: each iteration costs us CPU. */
export const SCRAM_MAX_ITERATIONS = 10_000_000;
const NONCE_BYTES = 18;

export interface ScramVerifier {
  iterations: number;
  salt: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
}

/** Server-side exchange state between server-first and client-final. Opaque to callers. */
export interface ScramServerState {
  readonly gs2Header: string;
  readonly clientFirstBare: string;
  readonly serverFirst: string;
  readonly nonce: string;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
  /** false for the decoy exchange of an unknown login: finish always fails */
  readonly known: boolean;
}

export type ScramServerStartResult =
  | { ok: true; serverFirst: string; state: ScramServerState }
  | { ok: false; reason: string };

export type ScramServerFinishResult = { ok: true; serverFinal: string } | { ok: false; reason: string };

export interface ScramClientState {
  readonly clientNonce: string;
  readonly clientFirstBare: string;
  /** set by scramClientContinue: what the server must prove it knows */
  readonly expectedServerSignature?: Buffer;
}

export type ScramClientContinueResult =
  | { ok: true; clientFinal: string; state: ScramClientState }
  | { ok: false; reason: string };

// --- SASLprep ------------------------------------------------------------------------------------------------

// RFC 3454 B.1 "commonly mapped to nothing" (soft hyphen, joiners, variation selectors, ...).
const MAPPED_TO_NOTHING = /[\u00AD\u034F\u1806\u180B-\u180D\u200B-\u200D\u2060\uFE00-\uFE0F\uFEFF]/g;
// RFC 3454 C.1.2 non-ASCII spaces, mapped to U+0020.
const NON_ASCII_SPACE = /[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/g;
// RFC 3454 C.2-C.9 prohibited output (controls, private use, non-characters, surrogates, bidi/tagging).
const PROHIBITED =
  /[\u0000-\u001F\u007F-\u009F\u0340\u0341\u06DD\u070F\u180E\u200C-\u200F\u2028-\u202E\u2060-\u2063\u206A-\u206F\uE000-\uF8FF\uFDD0-\uFDEF\uFEFF\uFFF9-\uFFFF\u{1FFFE}\u{1FFFF}\u{E0001}\u{E0020}-\u{E007F}\u{F0000}-\u{10FFFF}]/u;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * A deliberately small SASLprep (RFC 4013). Like PostgreSQL: pure-ASCII passwords are used as they are;
 * otherwise map (B.1 to nothing, C.1.2 to space), NFKC-normalise, and if the result holds a prohibited
 * character use the raw password instead of failing. Not implemented: the bidi rule and the
 * unassigned-code-point check; our generated passwords are base62 and never reach this branch.
 */
export function saslprep(password: string): string {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7F]*$/.test(password)) return password;
  if (LONE_SURROGATE.test(password)) return password;
  const mapped = password.replace(MAPPED_TO_NOTHING, '').replace(NON_ASCII_SPACE, ' ').normalize('NFKC');
  if (mapped.length === 0 || PROHIBITED.test(mapped)) return password;
  return mapped;
}

// --- primitives ----------------------------------------------------------------------------------------------

function hmac(key: Buffer, data: string | Buffer): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

function saltedPassword(password: string, salt: Buffer, iterations: number): Buffer {
  return pbkdf2Sync(Buffer.from(saslprep(password), 'utf8'), salt, iterations, KEY_LEN, 'sha256');
}

/**
 * SaltedPassword for logging in to an upstream, remembered per (password, salt, iterations). A role's salt and
 * count change only when its password is set again, so every upstream login of a target would otherwise spend the
 * same PBKDF2 rounds (4,096 by default) on the event loop, holding back every other session. What is kept is
 * worth as much as the password itself, which the broker holds anyway; the key is a digest, not the password, and
 * the map is small and bounded.
 */
const upstreamSalted = new Map<string, Buffer>();
const UPSTREAM_SALTED_MAX = 64;

function upstreamSaltedPassword(password: string, salt: Buffer, iterations: number): Buffer {
  const key = `${createHash('sha256').update(password, 'utf8').digest('base64')}:${salt.toString('base64')}:${iterations}`;
  const hit = upstreamSalted.get(key);
  if (hit) return hit;
  const salted = saltedPassword(password, salt, iterations);
  if (upstreamSalted.size >= UPSTREAM_SALTED_MAX) upstreamSalted.delete(upstreamSalted.keys().next().value!);
  upstreamSalted.set(key, salted);
  return salted;
}

function clientKeyOf(salted: Buffer): Buffer {
  return hmac(salted, 'Client Key');
}

function serverKeyOf(salted: Buffer): Buffer {
  return hmac(salted, 'Server Key');
}

const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function decodeB64(s: string): Buffer | undefined {
  return B64.test(s) ? Buffer.from(s, 'base64') : undefined;
}

/** RFC 5802 nonce: printable ASCII except ','. */
function isValidNonce(s: string): boolean {
  return s.length > 0 && /^[\x21-\x2B\x2D-\x7E]+$/.test(s);
}

/**
 * Nonce bytes are cut from a block filled by the CSPRNG 256 nonces at a time: one randomBytes call per login cost
 * more than the rest of the nonce work. Every byte is handed out once and the block is refilled before reuse, so
 * nonces stay unpredictable and never repeat (a repeated server nonce would let a recorded exchange be replayed).
 */
const noncePool = Buffer.allocUnsafe(NONCE_BYTES * 256);
let noncePoolAt = noncePool.length;

function poolNonceBytes(): Buffer {
  if (noncePoolAt + NONCE_BYTES > noncePool.length) {
    randomFillSync(noncePool);
    noncePoolAt = 0;
  }
  return noncePool.subarray(noncePoolAt, (noncePoolAt += NONCE_BYTES));
}

function makeNonce(source: Buffer | string | undefined): string {
  if (typeof source === 'string') {
    if (!isValidNonce(source)) throw new Error('SCRAM nonce must be printable ASCII without commas');
    return source;
  }
  return (source ?? poolNonceBytes()).toString('base64');
}

/** Splits `a=1,b=2` into ordered [name, value] pairs; undefined when an attribute is malformed. */
function parseAttributes(s: string): Array<[string, string]> | undefined {
  const out: Array<[string, string]> = [];
  for (const part of s.split(',')) {
    if (part.length < 2 || part[1] !== '=' || !/^[A-Za-z]$/.test(part[0]!)) return undefined;
    out.push([part[0]!, part.slice(2)]);
  }
  return out;
}

// --- verifiers -----------------------------------------------------------------------------------------------

/** RFC 5803 form, as PostgreSQL stores it in pg_authid.rolpassword. */
export function createScramVerifier(password: string, iterations = SCRAM_DEFAULT_ITERATIONS, salt?: Buffer): string {
  if (!Number.isInteger(iterations) || iterations < 1) throw new Error('SCRAM iterations must be a positive integer');
  const s = salt ?? randomBytes(16);
  return verifierText(saltedPassword(password, s, iterations), s, iterations);
}

/** createScramVerifier with the PBKDF2 rounds on the thread pool: issuing a grant does not stall live sessions. */
export async function createScramVerifierAsync(password: string, iterations = SCRAM_DEFAULT_ITERATIONS, salt?: Buffer): Promise<string> {
  if (!Number.isInteger(iterations) || iterations < 1) throw new Error('SCRAM iterations must be a positive integer');
  const s = salt ?? randomBytes(16);
  const salted = await new Promise<Buffer>((resolve, reject) =>
    pbkdf2(Buffer.from(saslprep(password), 'utf8'), s, iterations, KEY_LEN, 'sha256', (e, key) => (e ? reject(e) : resolve(key))),
  );
  return verifierText(salted, s, iterations);
}

function verifierText(salted: Buffer, salt: Buffer, iterations: number): string {
  const storedKey = sha256(clientKeyOf(salted));
  const serverKey = serverKeyOf(salted);
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/**
 * Parsed verifiers by their text: every login of a grant reads the same verifier, and parsing it (a regex and three
 * base64 decodes) was a visible part of a login's cost. Keyed by the whole verifier text, so a grant whose verifier
 * changes (or a new grant) is parsed afresh; it holds only what the store holds (salted keys, never a password).
 * Bounded: the oldest entry goes first. Callers must not modify the returned buffers.
 */
const parsedVerifiers = new Map<string, ScramVerifier>();
const PARSED_VERIFIERS_MAX = 1024;

/** undefined when `v` is not a well-formed SCRAM-SHA-256 verifier. */
export function parseScramVerifier(v: string): ScramVerifier | undefined {
  const hit = parsedVerifiers.get(v);
  if (hit) return hit;
  const parsed = parseVerifierText(v);
  if (!parsed) return undefined;
  if (parsedVerifiers.size >= PARSED_VERIFIERS_MAX) parsedVerifiers.delete(parsedVerifiers.keys().next().value!);
  parsedVerifiers.set(v, parsed);
  return parsed;
}

function parseVerifierText(v: string): ScramVerifier | undefined {
  const m = /^SCRAM-SHA-256\$(\d{1,9}):([^$:]+)\$([^$:]+):([^$:]+)$/.exec(v);
  if (!m) return undefined;
  const iterations = Number(m[1]);
  const salt = decodeB64(m[2]!);
  const storedKey = decodeB64(m[3]!);
  const serverKey = decodeB64(m[4]!);
  if (iterations < 1 || !salt || salt.length === 0 || storedKey?.length !== KEY_LEN || serverKey?.length !== KEY_LEN) {
    return undefined;
  }
  return { iterations, salt, storedKey, serverKey };
}

/**
 * Checks a cleartext password against a stored verifier (for clients that only send passwords, over TLS).
 * The comparison is on StoredKey in constant time; the verifier never yields the password.
 */
export function scramVerifyPassword(verifier: string, password: string): boolean {
  const v = parseScramVerifier(verifier);
  if (!v) return false;
  const storedKey = sha256(hmac(saltedPassword(password, v.salt, v.iterations), 'Client Key'));
  return timingSafeEqual(storedKey, v.storedKey);
}

// --- server side (we authenticate a client) ------------------------------------------------------------------

interface ClientFirst {
  gs2Header: string;
  bare: string;
  clientNonce: string;
}

function decodeClientFirst(msg: string): ClientFirst | string {
  // gs2-header = gs2-cbind-flag "," [ authzid ] ","
  const m = /^([ny]),(.*?),(.*)$/s.exec(msg);
  if (!m) {
    if (msg.startsWith('p=')) return 'channel binding requested but not offered';
    return 'malformed client-first-message';
  }
  if (m[2] !== '') return 'authorization identity is not supported';
  const bare = m[3]!;
  const attrs = parseAttributes(bare);
  if (!attrs || attrs.length < 2) return 'malformed client-first-message';
  // A mandatory extension (m=) we do not know must fail the exchange (RFC 5802 §5.1).
  if (attrs[0]![0] === 'm') return 'unsupported mandatory extension';
  if (attrs[0]![0] !== 'n' || attrs[1]![0] !== 'r') return 'malformed client-first-message';
  const clientNonce = attrs[1]![1];
  if (!isValidNonce(clientNonce)) return 'invalid client nonce';
  return { gs2Header: `${m[1]},${m[2]},`, bare, clientNonce };
}

function start(
  v: ScramVerifier,
  known: boolean,
  clientFirstMessage: string,
  serverNonce: Buffer | string | undefined,
): ScramServerStartResult {
  const cf = decodeClientFirst(clientFirstMessage);
  if (typeof cf === 'string') return { ok: false, reason: cf };
  const nonce = cf.clientNonce + makeNonce(serverNonce);
  const serverFirst = `r=${nonce},s=${v.salt.toString('base64')},i=${v.iterations}`;
  return {
    ok: true,
    serverFirst,
    state: {
      gs2Header: cf.gs2Header,
      clientFirstBare: cf.bare,
      serverFirst,
      nonce,
      storedKey: v.storedKey,
      serverKey: v.serverKey,
      known,
    },
  };
}

/**
 * Answers client-first with server-first. `serverNonce`: raw bytes (base64-encoded into the nonce) or a
 * ready nonce string; random when omitted. Never throws on client input.
 */
export function scramServerStart(
  verifier: string,
  clientFirstMessage: string,
  serverNonce?: Buffer | string,
): ScramServerStartResult {
  const v = parseScramVerifier(verifier);
  if (!v) return { ok: false, reason: 'stored verifier is not a SCRAM-SHA-256 verifier' };
  return start(v, true, clientFirstMessage, serverNonce);
}

/**
 * Runs a decoy exchange for a login that does not exist (or has no usable grant). Salt and keys derive
 * from HMAC(secret, login) so repeated attempts see the same salt, exactly as for a real login, and the
 * iteration count equals the default every real verifier uses. Defends against login enumeration.
 */
export function scramServerStartUnknown(
  login: string,
  secret: Buffer,
  clientFirstMessage: string,
  serverNonce?: Buffer | string,
): ScramServerStartResult {
  const salt = hmac(secret, `scram-salt:${login}`).subarray(0, 16);
  const decoy: ScramVerifier = {
    iterations: SCRAM_DEFAULT_ITERATIONS,
    salt,
    storedKey: hmac(secret, `scram-stored:${login}`),
    serverKey: hmac(secret, `scram-server:${login}`),
  };
  return start(decoy, false, clientFirstMessage, serverNonce);
}

/** Checks client-final and answers server-final. Never throws on client input. */
export function scramServerFinish(state: ScramServerState, clientFinalMessage: string): ScramServerFinishResult {
  const proofAt = clientFinalMessage.lastIndexOf(',p=');
  if (proofAt < 0) return { ok: false, reason: 'malformed client-final-message' };
  const withoutProof = clientFinalMessage.slice(0, proofAt);
  const attrs = parseAttributes(withoutProof);
  if (!attrs || attrs.length < 2 || attrs[0]![0] !== 'c' || attrs[1]![0] !== 'r') {
    return { ok: false, reason: 'malformed client-final-message' };
  }
  // The channel-binding field must echo the GS2 header: stops a downgrade of the cbind flag in transit.
  if (attrs[0]![1] !== Buffer.from(state.gs2Header).toString('base64')) {
    return { ok: false, reason: 'channel binding data does not match' };
  }
  // The nonce must be exactly ours (client nonce + server nonce): stops replay of another exchange.
  if (attrs[1]![1] !== state.nonce) return { ok: false, reason: 'nonce mismatch' };
  const proof = decodeB64(clientFinalMessage.slice(proofAt + 3));
  if (!proof || proof.length !== KEY_LEN) return { ok: false, reason: 'malformed client proof' };

  const authMessage = `${state.clientFirstBare},${state.serverFirst},${withoutProof}`;
  const clientSignature = hmac(state.storedKey, authMessage);
  const clientKey = xor(proof, clientSignature);
  // Constant-time compare: a byte-wise early exit would leak how much of StoredKey an attacker guessed.
  const matches = timingSafeEqual(sha256(clientKey), state.storedKey);
  if (!state.known) return { ok: false, reason: 'unknown login' };
  if (!matches) return { ok: false, reason: 'password does not match' };
  const serverSignature = hmac(state.serverKey, authMessage);
  return { ok: true, serverFinal: `v=${serverSignature.toString('base64')}` };
}

// --- client side (we authenticate to an upstream PostgreSQL) -------------------------------------------------

/** Like libpq: GS2 header `n,,` and an empty username (PostgreSQL takes it from the startup packet). */
export function scramClientStart(nonce?: Buffer | string): { clientFirst: string; state: ScramClientState } {
  const clientNonce = makeNonce(nonce);
  const clientFirstBare = `n=,r=${clientNonce}`;
  return { clientFirst: `n,,${clientFirstBare}`, state: { clientNonce, clientFirstBare } };
}

/** Answers server-first with client-final. Never throws on upstream input. */
export function scramClientContinue(
  state: ScramClientState,
  password: string,
  serverFirst: string,
): ScramClientContinueResult {
  const attrs = parseAttributes(serverFirst);
  if (!attrs || attrs.length < 3) return { ok: false, reason: 'malformed server-first-message' };
  if (attrs[0]![0] === 'm') return { ok: false, reason: 'unsupported mandatory extension' };
  if (attrs[0]![0] !== 'r' || attrs[1]![0] !== 's' || attrs[2]![0] !== 'i') {
    return { ok: false, reason: 'malformed server-first-message' };
  }
  const nonce = attrs[0]![1];
  // The server nonce must extend ours: otherwise the proof we send could be replayed elsewhere.
  if (!nonce.startsWith(state.clientNonce) || nonce.length <= state.clientNonce.length || !isValidNonce(nonce)) {
    return { ok: false, reason: 'server nonce does not extend the client nonce' };
  }
  const salt = decodeB64(attrs[1]![1]);
  if (!salt || salt.length === 0) return { ok: false, reason: 'invalid salt' };
  if (!/^\d{1,9}$/.test(attrs[2]![1])) return { ok: false, reason: 'invalid iteration count' };
  const iterations = Number(attrs[2]![1]);
  // A hostile upstream could pin our CPU with a huge count; 1 is weak but it is the upstream's own choice.
  if (iterations < 1 || iterations > SCRAM_MAX_ITERATIONS) return { ok: false, reason: 'iteration count out of range' };

  const salted = upstreamSaltedPassword(password, salt, iterations);
  const clientKey = clientKeyOf(salted);
  const storedKey = sha256(clientKey);
  const withoutProof = `c=${Buffer.from('n,,').toString('base64')},r=${nonce}`;
  const authMessage = `${state.clientFirstBare},${serverFirst},${withoutProof}`;
  const proof = xor(clientKey, hmac(storedKey, authMessage));
  const expectedServerSignature = hmac(serverKeyOf(salted), authMessage);
  return {
    ok: true,
    clientFinal: `${withoutProof},p=${proof.toString('base64')}`,
    state: { ...state, expectedServerSignature },
  };
}

/** true only when the upstream proved it knows the ServerKey: defends against a fake upstream. */
export function scramClientVerifyFinal(state: ScramClientState, serverFinal: string): boolean {
  const expected = state.expectedServerSignature;
  if (!expected) return false;
  const attrs = parseAttributes(serverFinal);
  if (!attrs || attrs.length < 1 || attrs[0]![0] !== 'v') return false;
  const got = decodeB64(attrs[0]![1]);
  return got !== undefined && got.length === expected.length && timingSafeEqual(got, expected);
}
