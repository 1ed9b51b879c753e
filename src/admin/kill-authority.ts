// Who may kill a session that is not their own: whoever may revoke its grant, or an approver of the request behind it.
import { BrokerError, ErrorCode } from '../errors.js';
import type { AccessService } from '../grants/service.js';
import type { Identity } from '../grants/model.js';
import { matchesPrincipal } from '../grants/policy.js';
import { isApproverForTarget, type AccessConfig } from './visibility.js';

/**
 * Defends against one user ending another's work through the kill endpoint. Someone else's session may be
 * killed only by an identity that may revoke its grant (an approver of a policy covering the grant's target,
 * the same test as revoke: killing one session is less than revoking the grant) or that matches the approver
 * list of the policy that granted it ("*", the identity's name, or "group:<g>").
 */
export async function assertMayKillForeignSession(service: AccessService, config: AccessConfig, actor: Identity, grantId: string): Promise<void> {
  const grant = await service.getGrant(grantId).catch(() => undefined);
  if (grant && isApproverForTarget(config, actor, grant.target)) return;
  const request = grant ? await service.getRequest(grant.requestId).catch(() => undefined) : undefined;
  const approvers = request?.approvers ?? [];
  if (!matchesPrincipal(approvers, actor)) throw new BrokerError(ErrorCode.FORBIDDEN, `only the session's owner or someone who may revoke its grant may kill it`);
}
