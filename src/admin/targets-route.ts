// GET /v1/targets: the targets, databases and access levels the caller may request, with each level's policy limits.
import { ACCESS_LEVELS } from '../access.js';
import type { Identity } from '../grants/model.js';
import { matchPolicy } from '../grants/policy.js';
import type { Route } from './routes.js';
import type { TargetCatalog } from './ui-ports.js';

const LEVELS = ACCESS_LEVELS;

export interface RequestableAccess {
  access: (typeof LEVELS)[number];
  policy: string;
  maxTtl: string;
  /** 0 = active at once */
  approvals: number;
  approvers: string[];
  /** databases this level may name on the target (the policy's list, or all of the target's) */
  databases: string[];
}

export interface RequestableTarget {
  name: string;
  protocol: 'postgres' | 'mysql';
  databases: string[];
  rulesets: string[];
  access: RequestableAccess[];
}

/**
 * What `identity` may request: for each target and level with an upstream role, the first policy that would
 * decide such a request (the same first-match rule the request path uses). Targets with no level are left out,
 * so a caller does not learn of targets they cannot use.
 */
export function requestableTargets(catalog: TargetCatalog, identity: Identity): RequestableTarget[] {
  const out: RequestableTarget[] = [];
  for (const [name, t] of Object.entries(catalog.targets)) {
    const access: RequestableAccess[] = [];
    for (const level of LEVELS) {
      if (!t.roles[level]) continue;
      // a policy limited to some databases matches a request naming one of them: the default first, then each
      const p = t.databases.map((d) => matchPolicy(catalog.policies, identity, name, level, [d])).find((x) => x !== undefined);
      if (!p) continue;
      const dbs = p.databases ? t.databases.filter((d) => p.databases!.includes(d)) : t.databases;
      access.push({ access: level, policy: p.name, maxTtl: p.maxTtl, approvals: p.approvals, approvers: [...p.approvers], databases: dbs });
    }
    if (access.length > 0) out.push({ name, protocol: t.protocol, databases: [...t.databases], rulesets: [...t.rulesets], access });
  }
  return out;
}

export function targetsRoute(catalog: TargetCatalog | undefined): Route {
  return {
    method: 'GET', path: '/v1/targets',
    handle: async ({ identity }) => ({ body: catalog ? requestableTargets(catalog, identity) : [] }),
  };
}
