// OIDC/JWT bearer tokens for the admin API: signature and claims checked with jose against a local JWKS file.
import { readFileSync, statSync } from 'node:fs';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import { BrokerError, ErrorCode } from '../errors.js';
import type { Identity } from '../grants/model.js';

/** Structurally the config's `oidc` section; declared here so admin does not depend on config. */
export interface OidcSettings {
  /** expected `iss` */
  issuer: string;
  /** expected `aud` (one of them) */
  audience: string | string[];
  /** JSON Web Key Set of the issuer's public signing keys */
  jwksFile: string;
  /** claim holding the groups: an array of strings or one space/comma separated string; dots walk into objects */
  groupsClaim: string;
  /** claim naming the identity, e.g. sub, preferred_username, email */
  identityClaim: string;
  /** accepted signature algorithms; default: the asymmetric ones jose supports */
  algorithms?: string[];
  /** allowed clock skew in seconds for exp/nbf/iat */
  clockToleranceSec?: number;
}

/**
 * Asymmetric algorithms only. Defends against algorithm confusion: an HS256 token "signed" with a public key
 * (or `alg: none`) is never accepted, whatever the token's header says.
 */
const DEFAULT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

/** Like config identity names, plus "@" so e-mail addresses work; ":" stays out ("group:" marks groups in policies). */
const IDENTITY_NAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$/;
const MAX_GROUPS = 200;
const JWKS_RECHECK_MS = 5000;

/** Three base64url parts: what a JWS compact serialisation looks like (config tokens are one part). */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token);
}

function loadJwks(file: string): JSONWebKeySet {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new BrokerError(ErrorCode.CONFIG_INVALID, `oidc.jwksFile ${file}: ${(e as Error).message}`);
  }
  const keys = (parsed as { keys?: unknown })?.keys;
  if (!Array.isArray(keys) || keys.length === 0) throw new BrokerError(ErrorCode.CONFIG_INVALID, `oidc.jwksFile ${file}: expected {"keys": [ … ]} with at least one key`);
  // Defends against a private key pasted into the file by mistake being treated as fine: public keys only.
  if (keys.some((k) => typeof k === 'object' && k !== null && ('d' in k || (k as { kty?: string }).kty === 'oct'))) {
    throw new BrokerError(ErrorCode.CONFIG_INVALID, `oidc.jwksFile ${file}: holds private or symmetric key material; give the public keys only`);
  }
  return parsed as JSONWebKeySet;
}

function claimAt(payload: JWTPayload, path: string): unknown {
  let v: unknown = payload;
  for (const seg of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[seg];
  }
  return v;
}

function groupsOf(value: unknown): string[] {
  const list = typeof value === 'string' ? value.split(/[\s,]+/) : Array.isArray(value) ? value : [];
  return [...new Set(list.filter((g): g is string => typeof g === 'string' && g !== '' && g.length <= 256))].slice(0, MAX_GROUPS);
}

/**
 * Returns a verifier mapping a JWT to the identity it proves, or undefined for any invalid token (bad signature,
 * wrong issuer or audience, expired, missing or malformed identity claim). The JWKS file is re-read when it
 * changes, so keys rotate without a restart. Throws at creation when the file is unusable.
 */
export function createOidcVerifier(settings: OidcSettings): (token: string) => Promise<Identity | undefined> {
  let jwks = createLocalJWKSet(loadJwks(settings.jwksFile));
  let mtime = statSync(settings.jwksFile).mtimeMs;
  let checkedAt = Date.now();
  const algorithms = settings.algorithms ?? DEFAULT_ALGORITHMS;

  const refresh = () => {
    if (Date.now() - checkedAt < JWKS_RECHECK_MS) return;
    checkedAt = Date.now();
    try {
      const m = statSync(settings.jwksFile).mtimeMs;
      if (m !== mtime) {
        jwks = createLocalJWKSet(loadJwks(settings.jwksFile));
        mtime = m;
      }
    } catch {
      // a half-written or vanished file keeps the keys already loaded
    }
  };

  return async (token) => {
    refresh();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks, {
        issuer: settings.issuer,
        audience: settings.audience,
        algorithms,
        clockTolerance: settings.clockToleranceSec ?? 30,
        // a token without an expiry would be valid forever once leaked
        requiredClaims: ['exp'],
      }));
    } catch {
      return undefined;
    }
    const name = claimAt(payload, settings.identityClaim);
    if (typeof name !== 'string' || !IDENTITY_NAME.test(name)) return undefined;
    return { name, groups: groupsOf(claimAt(payload, settings.groupsClaim)) };
  };
}
