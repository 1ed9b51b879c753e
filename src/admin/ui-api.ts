// API routes the console needs besides the core ones: targets, audit trail and its verification, stats, rule sets, OpenAPI.
import { BrokerError, ErrorCode } from '../errors.js';
import type { AccessService } from '../grants/service.js';
import { openApiDocument } from './openapi.js';
import type { Route } from './routes.js';
import { targetsRoute } from './targets-route.js';
import { buildStats } from './ui-stats.js';
import type { AuditQueryInput, AuditTrailPort, RuleSetsPort, TargetCatalog } from './ui-ports.js';

export interface ConsoleRouteDeps {
  service: AccessService;
  auditTrail?: AuditTrailPort;
  catalog?: TargetCatalog;
  ruleSets?: RuleSetsPort;
}

function timeParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  const t = /^\d{1,15}$/.test(v) ? Number(v) : Date.parse(v);
  if (Number.isNaN(t)) throw new BrokerError(ErrorCode.BAD_REQUEST, `${name} must be an ISO time or epoch milliseconds`);
  return t;
}

function intParam(q: URLSearchParams, name: string, min: number, max: number, dflt: number): number {
  const v = q.get(name);
  if (v === null || v === '') return dflt;
  if (!/^\d{1,6}$/.test(v) || Number(v) < min || Number(v) > max) throw new BrokerError(ErrorCode.BAD_REQUEST, `${name} must be an integer from ${min} to ${max}`);
  return Number(v);
}

function auditQuery(q: URLSearchParams): AuditQueryInput {
  const str = (k: string) => {
    const v = q.get(k)?.trim();
    return v ? v : undefined;
  };
  return {
    identity: str('identity'), grant: str('grant'), type: str('type'), action: str('action'), rule: str('rule'),
    since: timeParam(q, 'since'), until: timeParam(q, 'until'), limit: intParam(q, 'limit', 1, 10_000, 500),
  };
}

function needTrail(p: AuditTrailPort | undefined): AuditTrailPort {
  if (!p) throw new BrokerError(ErrorCode.NOT_FOUND, 'this broker has no audit trail to read');
  return p;
}

export function consoleRoutes(deps: ConsoleRouteDeps, allRoutes: () => Route[]): Route[] {
  return [
    targetsRoute(deps.catalog),
    {
      method: 'GET', path: '/v1/whoami',
      handle: async ({ identity }) => ({ body: { name: identity.name, groups: identity.groups } }),
    },
    {
      method: 'GET', path: '/v1/audit',
      handle: async ({ query }) => ({ body: needTrail(deps.auditTrail).query(auditQuery(query)) }),
    },
    {
      method: 'GET', path: '/v1/audit/verify',
      handle: async () => {
        try {
          return { body: needTrail(deps.auditTrail).verify() };
        } catch (e) {
          if ((e as { code?: string }).code === 'ENOENT') return { body: { ok: true, count: 0 } };
          throw e;
        }
      },
    },
    {
      method: 'GET', path: '/v1/stats',
      handle: async ({ query }) => {
        const minutes = intParam(query, 'minutes', 5, 24 * 60, 30);
        const now = Date.now();
        const limit = 10_000;
        const { events, truncated } = needTrail(deps.auditTrail).query({ type: 'statement,grant', since: now - (minutes + 1) * 60_000, limit });
        const activeNow = (await deps.service.listGrants()).length;
        return { body: buildStats(events, { now, minutes, activeNow, partial: truncated }) };
      },
    },
    {
      method: 'GET', path: '/v1/rulesets',
      handle: async () => ({ body: deps.ruleSets?.list() ?? [] }),
    },
    {
      method: 'GET', path: '/v1/openapi.json',
      handle: async () => ({ body: openApiDocument(allRoutes()) }),
    },
  ];
}
