// Shared by admin and CLI tests: a real admin server over a real AccessService and EmbeddedStore in a temp dir.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditEvent, AuditSink } from '../../../src/audit/events.js';
import { startAdminServer, type AdminServer } from '../../../src/admin/server.js';
import type { SessionInfo, SessionsPort } from '../../../src/admin/sessions-port.js';
import type { RulesPort } from '../../../src/admin/ports.js';
import { ConfigSchema } from '../../../src/config/schema.js';
import { EmbeddedStore } from '../../../src/grants/embedded-store.js';
import { AccessService } from '../../../src/grants/service.js';
import { silentLogger } from '../../../src/log.js';
import { createMetrics } from '../../../src/metrics/metrics.js';

export const NAMES = ['alice', 'bob', 'carol'] as const;
export type Name = (typeof NAMES)[number];

export interface Fixture {
  server: AdminServer;
  url: string;
  tokens: Record<Name, string>;
  audit: AuditEvent[];
  sessions: SessionInfo[];
  killed: { id: string; actor: string }[];
  readiness: { ok: boolean; reasons: string[] };
  rulesCalls: unknown[];
  reloadResult: { ok: boolean; rulesets?: string[]; errors?: unknown[] };
  service: AccessService;
  call(who: Name | string | undefined, method: string, path: string, body?: unknown): Promise<{ status: number; body: any; headers: Headers }>;
  close(): Promise<void>;
}

function token(): { token: string; sha: string } {
  const t = 'dbw_' + randomBytes(24).toString('base64url');
  return { token: t, sha: createHash('sha256').update(t).digest('hex') };
}

export async function startFixture(): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'dbwarden-admin-'));
  const t = { alice: token(), bob: token(), carol: token() };
  const config = ConfigSchema.parse({
    state: { dir },
    targets: {
      app: {
        protocol: 'postgres', host: '127.0.0.1', port: 5432, databases: ['app', 'analytics'],
        roles: { read: { user: 'app_ro', password: 'ro-secret' }, write: { user: 'app_rw', password: 'rw-secret' } },
      },
    },
    identities: {
      alice: { tokenSha256: t.alice.sha, groups: ['dev'] },
      bob: { tokenSha256: t.bob.sha, groups: ['dba'] },
      carol: { tokenSha256: t.carol.sha, groups: ['dev'] },
    },
    access: [
      { name: 'read-self-service', requesters: ['*'], access: ['read'], maxTtl: '8h', approvals: 0 },
      { name: 'write-needs-dba', requesters: ['group:dev'], access: ['write'], maxTtl: '2h', approvals: 1, approvers: ['group:dba'] },
    ],
  });
  const store = EmbeddedStore.open(dir);
  const events: AuditEvent[] = [];
  const audit: AuditSink = { record: (e) => void events.push(structuredClone(e)), close: async () => {} };
  const metrics = createMetrics();
  const service = new AccessService({ store, config, audit, metrics });
  const sessionList: SessionInfo[] = [];
  const killed: { id: string; actor: string }[] = [];
  const sessions: SessionsPort = {
    list: async () => sessionList.map((s) => ({ ...s })),
    kill: async (id, actor) => {
      const i = sessionList.findIndex((s) => s.id === id);
      if (i < 0) return false;
      sessionList.splice(i, 1);
      killed.push({ id, actor });
      return true;
    },
  };
  const readiness = { ok: true, reasons: [] as string[] };
  const rulesCalls: unknown[] = [];
  const fx = { reloadResult: { ok: true, rulesets: ['safe-defaults'] } as Fixture['reloadResult'] };
  const rules: RulesPort = {
    check: (body) => {
      rulesCalls.push(body);
      return { action: 'allow', rules: [], statements: [] };
    },
    reload: async () => fx.reloadResult,
  };
  const server = await startAdminServer({
    listen: '127.0.0.1:0', service, sessions, identities: config.identities, metrics, rules,
    accessConfig: config,
    ready: () => readiness, audit, logger: silentLogger,
    info: { listen: { postgres: '0.0.0.0:7432' }, targets: { app: { protocol: 'postgres', databases: ['app', 'analytics'] } } },
  });
  const tokens = { alice: t.alice.token, bob: t.bob.token, carol: t.carol.token };
  const fixture: Fixture = {
    server, url: server.url, tokens, audit: events, sessions: sessionList, killed, readiness, rulesCalls,
    get reloadResult() { return fx.reloadResult; },
    set reloadResult(v) { fx.reloadResult = v; },
    service,
    async call(who, method, path, body) {
      const headers: Record<string, string> = {};
      const tok = who === undefined ? undefined : (tokens as Record<string, string>)[who] ?? who;
      if (tok !== undefined) headers.authorization = `Bearer ${tok}`;
      let payload: string | undefined;
      if (body !== undefined) {
        headers['content-type'] = 'application/json';
        payload = typeof body === 'string' ? body : JSON.stringify(body);
      }
      const res = await fetch(server.url + path, { method, headers, body: payload });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // /metrics is text
      }
      return { status: res.status, body: parsed as any, headers: res.headers };
    },
    async close() {
      await server.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return fixture;
}
