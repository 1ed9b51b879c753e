// Random names a client must not guess (session ids, the relays' error markers, row-guard savepoints), drawn from
// Node's cached CSPRNG block (randomInt) instead of a randomBytes call per session: that call was a visible share of a
// login. Here in session/ so that the registry and both protocol modules can use it.
import { randomInt } from 'node:crypto';

/** 12 hex digits, 48 random bits (as randomBytes(6).toString('hex') gave). */
export function randomHex12(): string {
  return randomInt(0x1000000).toString(16).padStart(6, '0') + randomInt(0x1000000).toString(16).padStart(6, '0');
}
