// Who may kill a session that is not their own: an approver of the request behind its grant.
import { BrokerError, ErrorCode } from '../errors.js';
import type { AccessService } from '../grants/service.js';
import type { Identity } from '../grants/model.js';

/**
 * Defends against one user ending another's work through the kill endpoint. Someone else's session
 * may be killed only by an identity matching the approver list of the policy that granted it
 * ("*", the identity's name, or "group:<g>"): the people trusted to open that access may close it.
 */
export async function assertMayKillForeignSession(service: AccessService, actor: Identity, grantId: string): Promise<void> {
  const grant = await service.getGrant(grantId);
  const request = grant ? await service.getRequest(grant.requestId) : undefined;
  const approvers = request?.approvers ?? [];
  const allowed = approvers.some((p) => p === '*' || p === actor.name || (p.startsWith('group:') && actor.groups.includes(p.slice(6))));
  if (!allowed) throw new BrokerError(ErrorCode.FORBIDDEN, `only the session's owner or an approver of its grant may kill it`);
}
