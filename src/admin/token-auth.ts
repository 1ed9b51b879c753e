// Bearer-token authentication for the admin API: sha256(token) against each identity's tokenSha256, then OIDC JWTs.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Identity } from '../grants/model.js';
import { looksLikeJwt } from './oidc.js';

/** Structurally the config's `identities` table; declared here so admin does not depend on config. */
export type IdentityTable = Record<string, { tokenSha256: string; groups: string[] }>;

const DIGEST_BYTES = 32;
const HEX_DIGEST = /^[0-9a-f]{64}$/i;

interface Entry {
  name: string;
  groups: string[];
  digest: Buffer;
  /** a malformed configured hash can never match, but is still compared so timing stays uniform */
  valid: boolean;
}

/** Returns a function mapping an Authorization header to the identity it proves, or undefined. */
export function createTokenAuthenticator(identities: IdentityTable): (authorization: string | undefined) => Identity | undefined {
  const entries: Entry[] = Object.entries(identities).map(([name, id]) => {
    const valid = HEX_DIGEST.test(id.tokenSha256);
    return { name, groups: [...id.groups], digest: valid ? Buffer.from(id.tokenSha256, 'hex') : Buffer.alloc(DIGEST_BYTES), valid };
  });
  return (authorization) => {
    const token = bearerToken(authorization);
    if (token === undefined) return undefined;
    // Hashing first makes every comparison the same length, so the token's length leaks nothing.
    const presented = createHash('sha256').update(token, 'utf8').digest();
    let found: Entry | undefined;
    // Defends against timing attacks: every identity is compared with a constant-time compare and the
    // loop never exits early, so response time reveals neither how many bytes matched nor which
    // identity (first, last, none) the token belongs to.
    for (const e of entries) {
      const same = timingSafeEqual(presented, e.digest) && e.valid;
      if (same && found === undefined) found = e;
    }
    return found ? { name: found.name, groups: [...found.groups] } : undefined;
  };
}

/** The token of an `Authorization: Bearer <token>` header; undefined when absent or malformed. */
export function bearerToken(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
  return m ? m[1] : undefined;
}

/**
 * The admin API's authenticator: configured tokens first (constant time, no I/O), then, when OIDC is set up and
 * the token has the shape of a JWT, its verification. Configured tokens keep working next to OIDC.
 */
export function createAuthenticator(options: {
  identities: IdentityTable;
  oidc?: (token: string) => Promise<Identity | undefined>;
}): (authorization: string | undefined) => Promise<Identity | undefined> {
  const byToken = createTokenAuthenticator(options.identities);
  const oidc = options.oidc;
  return async (authorization) => {
    const found = byToken(authorization);
    if (found || !oidc) return found;
    const token = bearerToken(authorization);
    return token !== undefined && looksLikeJwt(token) ? oidc(token) : undefined;
  };
}
