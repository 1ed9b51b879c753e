// What an identity may request: per target, the access levels its policies allow, with databases, max TTL and approvals.
import { ACCESS_LEVELS } from '../access.js';
import type { Config } from '../config/schema.js';
import type { AccessLevel } from '../rules/types.js';
import type { Identity } from './model.js';
import { matchesPrincipal } from './policy.js';



export interface RequestableAccess {
  access: AccessLevel;
  /** the policy that decides such a request (the first match, as createRequest picks it) */
  policy: string;
  databases: string[];
  maxTtl: string;
  approvals: number;
}

export interface RequestableTarget {
  name: string;
  protocol: 'postgres' | 'mysql';
  databases: string[];
  access: RequestableAccess[];
}

/**
 * The targets `identity` could request something on (nothing else: target names behind no policy of theirs stay
 * out of the answer), in config order.
 */
export function requestableTargets(config: Pick<Config, 'targets' | 'access'>, identity: Identity): RequestableTarget[] {
  const out: RequestableTarget[] = [];
  for (const [name, t] of Object.entries(config.targets)) {
    const access: RequestableAccess[] = [];
    for (const level of ACCESS_LEVELS) {
      if (!t.roles[level]) continue;
      const p = config.access.find((p) =>
        matchesPrincipal(p.requesters, identity) && (p.targets ?? ['*']).some((x) => x === '*' || x === name) && p.access.includes(level));
      if (!p) continue;
      const databases = p.databases ? t.databases.filter((d) => p.databases!.includes(d)) : [...t.databases];
      if (databases.length === 0) continue;
      access.push({ access: level, policy: p.name, databases, maxTtl: p.maxTtl, approvals: p.approvals });
    }
    if (access.length) out.push({ name, protocol: t.protocol, databases: [...t.databases], access });
  }
  return out;
}
