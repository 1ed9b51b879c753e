// The admin HTTP server (node:http): token auth, routing, JSON errors, audit of mutations, /metrics and health.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { BrokerError, ErrorCode, isBrokerError } from '../errors.js';
import type { Identity } from '../grants/model.js';
import type { AccessService } from '../grants/service.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import { readJsonBody, sendError, sendJson, sendText } from './http-io.js';
import type { AdminAuditPort, BrokerInfo, ReviewsPort, RulesPort } from './ports.js';
import { buildRoutes, type Route } from './routes.js';
import type { SessionsPort } from './sessions-port.js';
import { createTokenAuthenticator, type IdentityTable } from './token-auth.js';
import { openApiDocument } from './openapi.js';
import { consoleRoutes } from './ui-api.js';
import type { AuditTrailPort, ConsoleOidc, RuleSetsPort, TargetCatalog } from './ui-ports.js';
import { createUiFiles, findUiDir } from './ui-static.js';

export interface AdminServerOptions {
  /** host:port; port 0 picks a free port */
  listen: string;
  service: AccessService;
  sessions: SessionsPort;
  identities: IdentityTable;
  metrics: Metrics;
  rules: RulesPort;
  ready: () => { ok: boolean; reasons: string[] };
  audit: AdminAuditPort;
  logger: Logger;
  /** client listen addresses and targets for `GET /v1/info` */
  info?: BrokerInfo;
  /** statement reviews; without it `GET /v1/reviews` is empty and decisions answer 404 */
  reviews?: ReviewsPort;
  /** replaces the token table check, e.g. createAuthenticator() with OIDC; `identities` is then unused */
  authenticate?: (authorization: string | undefined) => Promise<Identity | undefined>;
  /** console and its API: audit trail, targets with policies, rule sets, OIDC sign-in settings */
  auditTrail?: AuditTrailPort;
  catalog?: TargetCatalog;
  ruleSets?: RuleSetsPort;
  consoleOidc?: ConsoleOidc;
  /** folder of the built console; default: found next to the compiled code */
  uiDir?: string;
}

export interface AdminServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

interface CompiledRoute {
  route: Route;
  segments: string[];
}

export async function startAdminServer(opts: AdminServerOptions): Promise<AdminServer> {
  const { host, port } = parseListen(opts.listen);
  const logger = opts.logger.child({ component: 'admin' });
  const authenticate = opts.authenticate ?? createTokenAuthenticator(opts.identities);
  const routeList: Route[] = [];
  routeList.push(...buildRoutes(opts), ...consoleRoutes(opts, () => routeList));
  const routes: CompiledRoute[] = routeList.map((route) => ({ route, segments: route.path.split('/').slice(1) }));
  const ui = createUiFiles(opts.uiDir ?? findUiDir(), opts.consoleOidc);

  const handleApi = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<{ status: number; actor?: string }> => {
    const method = req.method ?? 'GET';
    // Authenticate before revealing anything, including whether a route exists.
    const identity = await authenticate(headerValue(req.headers.authorization));
    if (!identity) {
      logger.warn({ method, path: url.pathname, client: req.socket.remoteAddress }, 'admin request without a valid token');
      const e = new BrokerError(ErrorCode.UNAUTHENTICATED, 'missing or invalid bearer token');
      return { status: sendError(res, e, logger).status };
    }
    const match = findRoute(routes, method, url.pathname);
    if (match === 'method') {
      const e = new BrokerError(ErrorCode.NOT_FOUND, `${method} is not supported on ${url.pathname}`);
      return { status: sendError(res, e, logger).status, actor: identity.name };
    }
    if (!match) {
      const e = new BrokerError(ErrorCode.NOT_FOUND, `no such endpoint: ${method} ${url.pathname}`);
      return { status: sendError(res, e, logger).status, actor: identity.name };
    }
    const { route, params } = match;
    try {
      const body = method === 'POST' ? await readJsonBody(req) : {};
      const result = await route.handle({ identity, params, query: url.searchParams, body });
      if (route.audit) opts.audit.record({ type: `admin.${route.audit}`, actor: identity.name, ...params, ...result.audit, ok: true });
      const status = result.status ?? 200;
      sendJson(res, status, result.body);
      return { status, actor: identity.name };
    } catch (err) {
      if (route.audit) {
        // refused attempts (self-approval, foreign revoke) matter to an auditor as much as successes
        const code = isBrokerError(err) ? err.code : ErrorCode.INTERNAL;
        opts.audit.record({ type: `admin.${route.audit}`, actor: identity.name, ...params, ok: false, code });
      }
      return { status: sendError(res, err, logger).status, actor: identity.name };
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = performance.now();
    const method = req.method ?? 'GET';
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://admin.invalid');
    } catch {
      sendError(res, new BrokerError(ErrorCode.BAD_REQUEST, 'malformed request URL'), logger);
      return;
    }
    let status: number;
    let actor: string | undefined;
    try {
      if (method === 'GET' && url.pathname === '/metrics') {
        // unauthenticated by design (Prometheus scrapes it); label values never carry secrets or SQL
        sendText(res, 200, opts.metrics.registry.contentType, await opts.metrics.registry.metrics());
        status = 200;
      } else if (method === 'GET' && url.pathname === '/healthz') {
        sendJson(res, 200, { ok: true });
        status = 200;
      } else if (method === 'GET' && url.pathname === '/readyz') {
        const r = opts.ready();
        status = r.ok ? 200 : 503;
        sendJson(res, status, { ok: r.ok, reasons: r.reasons });
      } else if (method === 'GET' && url.pathname === '/v1/openapi.json') {
        // public like /metrics: route names and shapes only, so API tools can read it without a token
        sendJson(res, 200, openApiDocument(routeList));
        status = 200;
      } else if (ui.handle(url.pathname, method, res)) {
        status = res.statusCode;
      } else {
        ({ status, actor } = await handleApi(req, res, url));
      }
    } catch (err) {
      status = sendError(res, err, logger).status;
    }
    // path only: query strings and bodies stay out of logs, headers (the token) too
    logger.debug({ method, path: url.pathname, status, actor, ms: Math.round(performance.now() - started) }, 'admin request');
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      logger.error({ err }, 'admin handler crashed');
      if (!res.headersSent) sendError(res, err, logger);
      else res.destroy();
    });
  });
  // Defends against slow-loris style clients holding sockets open with partial requests.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => logger.error({ err }, 'admin server error'));
  const address = server.address() as AddressInfo;
  const urlHost = isIP(host) === 6 ? `[${host}]` : host;
  const url = `http://${urlHost}:${address.port}`;
  logger.info({ url }, 'admin API listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    port: address.port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // in-flight requests get a moment to finish; long polls would otherwise hold shutdown
        setTimeout(() => server.closeAllConnections(), 2_000).unref();
      });
      return closing;
    },
  };
}

function findRoute(routes: CompiledRoute[], method: string, pathname: string): { route: Route; params: Record<string, string> } | 'method' | undefined {
  const parts = pathname.replace(/\/+$/, '').split('/').slice(1);
  let otherMethod = false;
  for (const { route, segments } of routes) {
    if (segments.length !== parts.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < segments.length && ok; i++) {
      const seg = segments[i];
      if (seg.startsWith(':')) {
        let value: string;
        try {
          value = decodeURIComponent(parts[i]);
        } catch {
          value = '';
        }
        if (value === '') ok = false;
        else params[seg.slice(1)] = value;
      } else if (seg !== parts[i]) {
        ok = false;
      }
    }
    if (!ok) continue;
    if (route.method === method) return { route, params };
    otherMethod = true;
  }
  return otherMethod ? 'method' : undefined;
}

function headerValue(h: string | string[] | undefined): string | undefined {
  return Array.isArray(h) ? h[0] : h;
}

function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(listen);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new BrokerError(ErrorCode.CONFIG_INVALID, `admin listen address ${JSON.stringify(listen)} is not host:port`);
  return { host: m[1] ?? m[2], port };
}
