// GET /v1/openapi.json: an OpenAPI 3.0 document of every admin route, built from the route table plus a summary per route.
import { ACCESS_LEVELS } from '../access.js';
import type { Route } from './routes.js';

interface Doc {
  summary: string;
  body?: Record<string, unknown>;
  query?: Record<string, string>;
}

const str = { type: 'string' };
const ACCESS = { type: 'string', enum: [...ACCESS_LEVELS] };
const obj = (properties: Record<string, unknown>, required: string[] = []) => ({ type: 'object', properties, ...(required.length ? { required } : {}) });
const decision = obj({ comment: str, reason: str });

/** One line per route; a route missing here is still listed, with a summary saying so (a unit test keeps it complete). */
export const ROUTE_DOCS: Record<string, Doc> = {
  'GET /v1/info': { summary: 'Client listen addresses and targets (for connect lines)' },
  'GET /v1/whoami': { summary: 'The identity the bearer token proves, with its groups' },
  'GET /v1/targets': { summary: 'Targets, databases and access levels the caller may request, with max TTL and approvals' },
  'POST /v1/requests': { summary: 'Ask for access; the answer carries the grant and its password when active at once', body: obj({ target: str, access: ACCESS, ttl: str, reason: str, databases: { type: 'array', items: str } }, ['target', 'access', 'ttl', 'reason']) },
  'GET /v1/requests': { summary: 'Access requests', query: { status: 'pending | active | denied | expired | revoked' } },
  'GET /v1/requests/{id}': { summary: 'One access request' },
  'POST /v1/requests/{id}/approve': { summary: 'Approve a pending request (never your own: 403)', body: decision },
  'POST /v1/requests/{id}/deny': { summary: 'Deny a pending request', body: decision },
  'POST /v1/requests/{id}/credentials': { summary: 'The requester fetches the password of an approved grant, once (410 after)' },
  'GET /v1/grants': { summary: 'Live grants (all with ?all=1)', query: { all: '1 to include ended grants' } },
  'GET /v1/grants/{id}': { summary: 'One grant' },
  'POST /v1/grants/{id}/revoke': { summary: 'Revoke a grant; its sessions end on every instance', body: obj({ reason: str }) },
  'POST /v1/grants/{id}/extend': { summary: 'Extend a grant within its policy maxTtl', body: obj({ ttl: str }, ['ttl']) },
  'GET /v1/sessions': { summary: 'Live sessions of every broker instance' },
  'POST /v1/sessions/{id}/kill': { summary: 'End one session' },
  'GET /v1/reviews': { summary: 'Statement reviews', query: { status: 'pending | approved | denied | used | expired' } },
  'GET /v1/reviews/{id}': { summary: 'One statement review' },
  'POST /v1/reviews/{id}/approve': { summary: 'Let exactly this statement pass once for this grant', body: decision },
  'POST /v1/reviews/{id}/deny': { summary: 'Refuse a reviewed statement', body: decision },
  'POST /v1/rules/check': { summary: 'Decision for SQL as `dbwarden rules check --json` prints it', body: obj({ sql: str, dialect: { type: 'string', enum: ['postgres', 'mysql'] }, target: str, access: ACCESS }, ['sql']) },
  'POST /v1/rules/reload': { summary: 'Re-read the rules folder (SIGHUP does the same); errors keep the old rules' },
  'GET /v1/rulesets': { summary: 'Loaded rule sets with their rules (read-only)' },
  'GET /v1/audit': {
    summary: 'Audit events, newest `limit` matching, oldest first',
    query: { identity: 'identity or actor', grant: 'grant id', type: 'statement, grant, grant.revoked, … (comma list)', action: 'statement action', rule: 'rule id', since: 'ISO time or epoch ms', until: 'ISO time or epoch ms', limit: '1–10000, default 500' },
  },
  'GET /v1/audit/verify': { summary: 'Hash-chain verification of the audit trail (as `dbwarden audit verify`)' },
  'GET /v1/stats': { summary: 'Statements per minute by action, top rules, active grants over time (from the audit trail)', query: { minutes: '5–1440, default 30' } },
  'GET /v1/openapi.json': { summary: 'This document (no token needed)' },
};

/** Routes outside /v1 (served without a token). */
export const EXTRA_PATHS = {
  '/metrics': { get: { summary: 'Prometheus metrics (no token)', security: [], responses: { 200: { description: 'text exposition format' } } } },
  '/healthz': { get: { summary: 'Liveness (no token)', security: [], responses: { 200: { description: 'ok' } } } },
  '/readyz': { get: { summary: 'Readiness: 503 with reasons when the grant store is away (no token)', security: [], responses: { 200: { description: 'ready' }, 503: { description: 'not ready' } } } },
  '/ui/': { get: { summary: 'The web console (static files, no token; the console signs in itself)', security: [], responses: { 200: { description: 'HTML' } } } },
};

export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z]+)/g, '{$1}');
}

export function openApiDocument(routes: Route[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = openApiPath(r.path);
    const doc = ROUTE_DOCS[`${r.method} ${path}`] ?? { summary: `${r.method} ${path}` };
    const params = [
      ...[...path.matchAll(/\{([A-Za-z]+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: str })),
      ...Object.entries(doc.query ?? {}).map(([name, description]) => ({ name, in: 'query', required: false, description, schema: str })),
    ];
    (paths[path] ??= {})[r.method.toLowerCase()] = {
      summary: doc.summary,
      ...(params.length ? { parameters: params } : {}),
      ...(r.method === 'POST' ? { requestBody: { required: !!doc.body && 'required' in doc.body, content: { 'application/json': { schema: doc.body ?? obj({}) } } } } : {}),
      ...(path === '/v1/openapi.json' ? { security: [] } : {}),
      responses: {
        200: { description: 'JSON answer' },
        ...(r.method === 'POST' && path === '/v1/requests' ? { 201: { description: 'request created' } } : {}),
        default: { description: 'error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      },
    };
  }
  return {
    openapi: '3.0.3',
    info: { title: 'dbwarden admin API', version: '1' },
    servers: [{ url: '.' }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'an identity token (sha256 in the config) or an OIDC JWT' } },
      schemas: { Error: obj({ error: obj({ code: str, message: str }, ['code', 'message']) }, ['error']) },
    },
    paths: { ...paths, ...EXTRA_PATHS },
  };
}
