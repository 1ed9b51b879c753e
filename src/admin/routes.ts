// The admin API's /v1 routes: body validation, calls into the services, what each mutating route audits.
import { ACCESS_LEVELS } from '../access.js';
import { z } from 'zod';
import { BrokerError, ErrorCode } from '../errors.js';
import type { AccessService } from '../grants/service.js';
import type { Identity, RequestStatus, ReviewRecord } from '../grants/model.js';
import { assertMayKillForeignSession } from './kill-authority.js';
import { canSeeGrant, canSeeRequest, isApproverAnywhere, type AccessConfig } from './visibility.js';
import type { BrokerInfo, ReviewsPort, RulesPort } from './ports.js';
import type { SessionsPort } from './sessions-port.js';

export interface RouteContext {
  identity: Identity;
  params: Record<string, string>;
  query: URLSearchParams;
  body: Record<string, unknown>;
}

export interface RouteResult {
  status?: number;
  body: unknown;
  /** extra audit fields for mutating routes; never secrets */
  audit?: Record<string, unknown>;
}

export interface Route {
  method: 'GET' | 'POST';
  /** segments starting with ':' are parameters */
  path: string;
  /** set on mutating routes: the audit event is `admin.<audit>` */
  audit?: string;
  handle(ctx: RouteContext): Promise<RouteResult>;
}

export interface RouteDeps {
  service: AccessService;
  sessions: SessionsPort;
  rules: RulesPort;
  reviews?: ReviewsPort;
  info?: BrokerInfo;
  /** targets and access policies: who sees which requests and grants (GET /v1/targets is the console's targets-route.ts) */
  accessConfig?: AccessConfig;
}

const REQUEST_STATUSES = ['pending', 'active', 'denied', 'expired', 'revoked'] as const satisfies readonly RequestStatus[];
const REVIEW_STATUSES = ['pending', 'approved', 'denied', 'used', 'expired'] as const satisfies readonly ReviewRecord['status'][];
const ACCESS = z.enum(ACCESS_LEVELS);

const CreateRequestBody = z.object({
  target: z.string().min(1),
  access: ACCESS,
  ttl: z.string().min(1),
  reason: z.string().trim().min(1, 'a reason is required'),
  databases: z.array(z.string().min(1)).optional(),
});
const DecisionBody = z.object({ comment: z.string().optional(), reason: z.string().optional() });
const RevokeBody = z.object({ reason: z.string().optional() });
const ExtendBody = z.object({ ttl: z.string().min(1) });
const CheckBody = z.object({
  sql: z.string().min(1),
  dialect: z.enum(['postgres', 'mysql']).optional(),
  target: z.string().optional(),
  access: ACCESS.optional(),
  groups: z.array(z.string()).optional(),
});

function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
  throw new BrokerError(ErrorCode.BAD_REQUEST, `invalid body: ${where}${issue?.message ?? 'rejected'}`);
}

/**
 * Defends against leaking password verifiers through the API: they stay in the store, whatever shape
 * the service hands back.
 */
export function redactGrant<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(redactGrant) as T;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === 'verifiers') continue;
    out[k] = v !== null && typeof v === 'object' ? redactGrant(v) : v;
  }
  return out as T;
}

function notFound(what: string, id: string): never {
  throw new BrokerError(ErrorCode.NOT_FOUND, `${what} ${id} not found`);
}

export function buildRoutes(deps: RouteDeps): Route[] {
  const { service, sessions, rules, reviews } = deps;
  const access: AccessConfig = deps.accessConfig ?? { targets: {}, access: [] };
  return [
    {
      method: 'GET', path: '/v1/info',
      handle: async () => ({ body: deps.info ?? { listen: {}, targets: {} } }),
    },
    {
      method: 'POST', path: '/v1/requests', audit: 'request',
      handle: async ({ identity, body }) => {
        const input = parseBody(CreateRequestBody, body);
        const result = await service.createRequest(identity, input);
        return {
          status: 201,
          body: redactGrant(result),
          audit: { requestId: result.request.id, target: input.target, access: input.access, ttl: input.ttl, status: result.request.status, grantId: result.grant?.grantId },
        };
      },
    },
    {
      method: 'GET', path: '/v1/requests',
      handle: async ({ identity, query }) => {
        const status = query.get('status') ?? undefined;
        if (status !== undefined && !(REQUEST_STATUSES as readonly string[]).includes(status)) {
          throw new BrokerError(ErrorCode.BAD_REQUEST, `status must be one of ${REQUEST_STATUSES.join(', ')}`);
        }
        // identities that approve nothing see only their own requests (the reasons of others' are not theirs to read)
        const list = await service.listRequests({ status: status as RequestStatus | undefined });
        return { body: list.filter((r) => canSeeRequest(access, identity, r)) };
      },
    },
    {
      method: 'GET', path: '/v1/requests/:id',
      handle: async ({ identity, params }) => {
        const r = await service.getRequest(params.id);
        // an invisible request answers like a missing one: ids of others' requests reveal nothing
        return { body: r && canSeeRequest(access, identity, r) ? r : notFound('request', params.id) };
      },
    },
    {
      method: 'POST', path: '/v1/requests/:id/approve', audit: 'approve',
      handle: async ({ identity, params, body }) => {
        const { comment } = parseBody(DecisionBody, body);
        const request = await service.approve(identity, params.id, comment);
        return { body: redactGrant(request), audit: { requestId: params.id, status: request.status } };
      },
    },
    {
      method: 'POST', path: '/v1/requests/:id/deny', audit: 'deny',
      handle: async ({ identity, params, body }) => {
        const b = parseBody(DecisionBody, body);
        const request = await service.deny(identity, params.id, b.comment ?? b.reason);
        return { body: redactGrant(request), audit: { requestId: params.id, status: request.status } };
      },
    },
    {
      method: 'POST', path: '/v1/requests/:id/credentials', audit: 'credentials',
      handle: async ({ identity, params }) => {
        const creds = await service.issueCredentials(identity, params.id);
        return { body: redactGrant(creds), audit: { requestId: params.id, grantId: creds.grantId } };
      },
    },
    {
      method: 'GET', path: '/v1/grants',
      handle: async ({ identity, query }) => {
        const all = ['1', 'true', 'yes'].includes((query.get('all') ?? '').toLowerCase());
        const list = (await service.listGrants({ all })).filter((g) => canSeeGrant(access, identity, g));
        return { body: redactGrant(list) };
      },
    },
    {
      method: 'GET', path: '/v1/grants/:id',
      handle: async ({ identity, params }) => {
        const g = await service.getGrant(params.id);
        return { body: redactGrant(g && canSeeGrant(access, identity, g) ? g : notFound('grant', params.id)) };
      },
    },
    {
      method: 'POST', path: '/v1/grants/:id/revoke', audit: 'revoke',
      handle: async ({ identity, params, body }) => {
        const { reason } = parseBody(RevokeBody, body);
        const grant = await service.revoke(identity, params.id, reason);
        return { body: redactGrant(grant), audit: { grantId: params.id, reason } };
      },
    },
    {
      method: 'POST', path: '/v1/grants/:id/extend', audit: 'extend',
      handle: async ({ identity, params, body }) => {
        const { ttl } = parseBody(ExtendBody, body);
        const grant = await service.extend(identity, params.id, ttl);
        return { body: redactGrant(grant), audit: { grantId: params.id, ttl, expiresAt: grant.expiresAt } };
      },
    },
    {
      method: 'GET', path: '/v1/sessions',
      handle: async () => ({ body: await sessions.list() }),
    },
    {
      method: 'POST', path: '/v1/sessions/:id/kill', audit: 'kill',
      handle: async ({ identity, params }) => {
        const session = (await sessions.list()).find((s) => s.id === params.id) ?? notFound('session', params.id);
        if (session.identity !== identity.name) await assertMayKillForeignSession(service, access, identity, session.grantId);
        const killed = await sessions.kill(params.id, identity.name);
        if (!killed) notFound('session', params.id);
        return { body: { id: params.id, killed: true }, audit: { session: params.id, grantId: session.grantId, identity: session.identity } };
      },
    },
    {
      method: 'GET', path: '/v1/reviews',
      handle: async ({ query }) => {
        const status = query.get('status') ?? undefined;
        if (status !== undefined && !(REVIEW_STATUSES as readonly string[]).includes(status)) {
          throw new BrokerError(ErrorCode.BAD_REQUEST, `status must be one of ${REVIEW_STATUSES.join(', ')}`);
        }
        return { body: reviews ? await reviews.list(status ? { status: status as ReviewRecord['status'] } : {}) : [] };
      },
    },
    {
      method: 'GET', path: '/v1/reviews/:id',
      handle: async ({ params }) => ({ body: reviews ? await reviews.get(params.id) : notFound('review', params.id) }),
    },
    {
      method: 'POST', path: '/v1/reviews/:id/approve', audit: 'review.approve',
      handle: async ({ identity, params, body }) => {
        if (!reviews) notFound('review', params.id);
        const { comment } = parseBody(DecisionBody, body);
        const review = await reviews.approve(identity, params.id, comment);
        return { body: review, audit: { review: params.id, grantId: review.grantId } };
      },
    },
    {
      method: 'POST', path: '/v1/reviews/:id/deny', audit: 'review.deny',
      handle: async ({ identity, params, body }) => {
        if (!reviews) notFound('review', params.id);
        const b = parseBody(DecisionBody, body);
        const review = await reviews.deny(identity, params.id, b.comment ?? b.reason);
        return { body: review, audit: { review: params.id, grantId: review.grantId } };
      },
    },
    {
      method: 'POST', path: '/v1/rules/check',
      handle: async ({ identity, body }) => {
        const input = parseBody(CheckBody, body);
        return { body: rules.check({ ...input, groups: input.groups ?? identity.groups }) };
      },
    },
    {
      method: 'POST', path: '/v1/rules/reload', audit: 'rules.reload',
      handle: async ({ identity }) => {
        // changing what every session may do is an approver's decision, not any API caller's
        if (!isApproverAnywhere(access, identity)) {
          throw new BrokerError(ErrorCode.FORBIDDEN, `${identity.name} may not reload rules (approvers only)`);
        }
        const r = await rules.reload();
        if (r.ok) return { body: r, audit: { rulesets: r.rulesets } };
        return {
          status: 422,
          body: { ...r, error: { code: ErrorCode.RULES_INVALID, message: 'rule files have errors; the previous rules stay in force' } },
          audit: { ok: false, errors: r.errors ?? [] },
        };
      },
    },
  ];
}
