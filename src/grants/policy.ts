// Access-policy matching: which configured policy (first match wins) decides a request, and who counts as an approver.
import type { PolicyConfig } from '../config/schema.js';
import type { AccessLevel } from '../rules/types.js';
import type { Identity } from './model.js';

/**
 * True when `identity` is named by one of `patterns`: "*", its name, or "group:<g>" for one of its groups.
 * Exact comparisons only (no prefixes, no case folding), so "group:dev" never admits "group:devops".
 */
export function matchesPrincipal(patterns: readonly string[], identity: Identity): boolean {
  return patterns.some((p) => {
    if (p === '*') return true;
    // A "group:" pattern never compares against names, so an identity named "group:dba" gains nothing.
    if (p.startsWith('group:')) return identity.groups.includes(p.slice('group:'.length));
    return p === identity.name;
  });
}

/**
 * The first policy letting `identity` request `access` on `target` for all of `databases`, or undefined
 * (no match refuses the request: access is deny-by-default).
 */
export function matchPolicy<P extends PolicyConfig>(
  policies: readonly P[],
  identity: Identity,
  target: string,
  access: AccessLevel,
  databases: readonly string[],
): P | undefined {
  return policies.find(
    (p) =>
      matchesPrincipal(p.requesters, identity) &&
      (p.targets ?? ['*']).some((t) => t === '*' || t === target) &&
      p.access.includes(access) &&
      (p.databases === undefined || databases.every((d) => p.databases!.includes(d))),
  );
}
