// Who sees what through the admin API: requesters their own requests and grants, approvers those they decide on.
import type { Config } from '../config/schema.js';
import type { AccessRequest, Grant, Identity } from '../grants/model.js';
import { matchesPrincipal } from '../grants/policy.js';

export type AccessConfig = Pick<Config, 'targets' | 'access'>;

/** An approver of some policy covering `target` (the same test revoke and extend use). */
export function isApproverForTarget(config: AccessConfig, identity: Identity, target: string): boolean {
  return config.access.some((p) => (p.targets ?? ['*']).some((t) => t === '*' || t === target) && matchesPrincipal(p.approvers ?? [], identity));
}

/** Named as an approver by any policy: may reload rules and see every request. */
export function isApproverAnywhere(config: AccessConfig, identity: Identity): boolean {
  return config.access.some((p) => matchesPrincipal(p.approvers ?? [], identity));
}

/**
 * Defends against one user reading another's requests (reasons, targets, timing): only the requester, the
 * approvers the request names and the approvers for its target see it.
 */
export function canSeeRequest(config: AccessConfig, identity: Identity, r: AccessRequest): boolean {
  return r.requester === identity.name || matchesPrincipal(r.approvers ?? [], identity) || isApproverForTarget(config, identity, r.target);
}

/** The grantee, and whoever may revoke it (approvers for its target). */
export function canSeeGrant(config: AccessConfig, identity: Identity, g: Grant): boolean {
  return g.identity === identity.name || isApproverForTarget(config, identity, g.target);
}
