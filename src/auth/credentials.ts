// Temporary grant credentials: login names, passwords and the verifiers stored in their place.
//
// Defends against: guessable logins/passwords (crypto randomness, ≥160 bits for passwords) and injection
// through user names (only [a-z0-9_], safe unquoted in PostgreSQL, MySQL, URLs and shells).
import { randomInt } from 'node:crypto';
import { cachingSha2Verifier } from './caching-sha2-password.js';
import { nativeVerifier } from './mysql-native-password.js';
import { createScramVerifier, createScramVerifierAsync } from './scram-sha-256.js';

/** Structurally identical to `Verifiers` in src/grants/model.ts (auth may not import grants). */
export interface Verifiers {
  scramSha256: string;
  mysqlNative: string;
  cachingSha2: string;
}

/** MySQL's user name limit (PostgreSQL allows 63). */
export const MAX_LOGIN_LENGTH = 32;
const SUFFIX_LENGTH = 6;
const LOWER_ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** 32 base62 characters = 190 bits. */
export const PASSWORD_LENGTH = 32;

function randomString(alphabet: string, length: number): string {
  let s = '';
  // randomInt is unbiased (rejection sampling), unlike byte % alphabet.length.
  for (let i = 0; i < length; i++) s += alphabet[randomInt(alphabet.length)];
  return s;
}

/** `<identity sanitized to [a-z0-9_], truncated>_<6 random [a-z0-9]>`, at most 32 chars, starting with a letter. */
export function generateLogin(identity: string): string {
  let base = identity
    .normalize('NFKD')
    .replace(/\p{M}/gu, '') // drop accents so 'Ünïcödé' reads 'unicode', not 'u_ni_co_de'
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/_+/g, '_')
    .replace(/^_+|_+$/g, '');
  // An unquoted PostgreSQL identifier cannot start with a digit; keep logins usable without quoting.
  if (!/^[a-z]/.test(base)) base = `u${base ? `_${base}` : ''}`;
  base = base.slice(0, MAX_LOGIN_LENGTH - SUFFIX_LENGTH - 1).replace(/_+$/, '');
  return `${base}_${randomString(LOWER_ALNUM, SUFFIX_LENGTH)}`;
}

/** 32 base62 characters: nothing to quote in a postgresql:// URL, a mysql command line or a shell. */
export function generatePassword(): string {
  return randomString(BASE62, PASSWORD_LENGTH);
}

export function computeVerifiers(password: string): Verifiers {
  return {
    scramSha256: createScramVerifier(password),
    mysqlNative: nativeVerifier(password),
    cachingSha2: cachingSha2Verifier(password),
  };
}

/** computeVerifiers with the costly part (PBKDF2) off the event loop. */
export async function computeVerifiersAsync(password: string): Promise<Verifiers> {
  return {
    scramSha256: await createScramVerifierAsync(password),
    mysqlNative: nativeVerifier(password),
    cachingSha2: cachingSha2Verifier(password),
  };
}
