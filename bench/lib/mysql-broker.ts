// Runs the built broker with a MySQL listener and a read-only MySQL target as a child, and obtains a read grant.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { brokerEntry, sleep, tcpOpen, type BenchGrant } from './broker-process.js';
import type { ChildSet } from './children.js';
import { freePort } from './free-port.js';

export const MYSQL_TARGET = 'sysbench';

export interface MysqlBrokerOptions {
  repoDir: string;
  workDir: string;
  upstream: { host: string; port: number; database: string; user: string; password: string };
  rulesets: string[];
  /** node flags for the broker, e.g. ['--cpu-prof', '--cpu-prof-dir', DIR] */
  nodeArgs?: string[];
}

export interface MysqlBrokerProcess {
  pid: number;
  mysqlPort: number;
  adminUrl: string;
  token: string;
  configFile: string;
  output(): string;
}

// The upstream password reaches the broker through the environment, as the docs recommend for real configs.
const PASSWORD_ENV = 'DBW_BENCH_MYSQL_PASSWORD';

export function mysqlBrokerConfig(o: MysqlBrokerOptions, ports: { mysql: number; admin: number }, tokenSha256: string): Record<string, unknown> {
  return {
    listen: { mysql: `127.0.0.1:${ports.mysql}`, admin: `127.0.0.1:${ports.admin}` },
    // Plaintext on both sides, like the direct path, so the comparison measures the proxy only.
    tls: { clients: 'disable' },
    state: { dir: join(o.workDir, 'state') },
    rules: join(o.repoDir, 'rules'),
    log: { level: 'warn' },
    targets: {
      [MYSQL_TARGET]: {
        protocol: 'mysql',
        host: o.upstream.host,
        port: o.upstream.port,
        databases: [o.upstream.database],
        tls: 'disable',
        rulesets: o.rulesets,
        // Only a read role: sysbench's read-only tests must pass the read-grant rules (writes and DDL blocked).
        roles: { read: { user: o.upstream.user, password: `\${${PASSWORD_ENV}}` } },
      },
    },
    identities: { bench: { tokenSha256, groups: ['bench'] } },
    access: [{ name: 'bench-read', requesters: ['bench'], targets: [MYSQL_TARGET], access: ['read'], maxTtl: '2h', approvals: 0 }],
  };
}

/** Starts the broker and waits until its admin API answers /healthz and its MySQL port accepts connections. */
export async function startMysqlBrokerProcess(children: ChildSet, o: MysqlBrokerOptions): Promise<MysqlBrokerProcess> {
  const main = brokerEntry(o.repoDir);
  const ports = { mysql: await freePort(), admin: await freePort() };
  const token = randomBytes(24).toString('base64url');
  const configFile = join(o.workDir, 'dbwarden-mysql.yaml');
  mkdirSync(join(o.workDir, 'state'), { recursive: true });
  writeFileSync(configFile, stringify(mysqlBrokerConfig(o, ports, createHash('sha256').update(token).digest('hex'))));

  const { child, output } = children.start(process.execPath, [...(o.nodeArgs ?? []), main, 'serve', '--config', configFile], {
    cwd: o.repoDir,
    env: { ...process.env, [PASSWORD_ENV]: o.upstream.password },
  });
  const adminUrl = `http://127.0.0.1:${ports.admin}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`broker exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${output().trim().slice(-2000)}`);
    }
    if ((await healthy(adminUrl)) && (await tcpOpen('127.0.0.1', ports.mysql))) break;
    if (Date.now() > deadline) throw new Error(`broker not ready after 30 s:\n${output().trim().slice(-2000)}`);
    await sleep(100);
  }
  return { pid: child.pid!, mysqlPort: ports.mysql, adminUrl, token, configFile, output };
}

async function post(adminUrl: string, token: string, path: string, body: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(`${adminUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

/** POST /v1/requests for a read grant; the policy auto-approves, so the answer carries login and password. */
export async function requestReadGrant(adminUrl: string, token: string, database: string): Promise<BenchGrant> {
  const r = await post(adminUrl, token, '/v1/requests', { target: MYSQL_TARGET, access: 'read', ttl: '1h', reason: 'sysbench benchmark run', databases: [database] });
  let body: { grant?: { grantId?: string; id?: string; login?: string; password?: string; expiresAt?: string } } = {};
  try {
    body = JSON.parse(r.text) as typeof body;
  } catch {
    // reported below with the raw text
  }
  const g = body.grant;
  if (r.status !== 200 && r.status !== 201) throw new Error(`grant request failed: HTTP ${r.status} ${r.text.slice(0, 500)}`);
  if (!g?.login || !g.password) throw new Error(`grant request answered without credentials: ${r.text.slice(0, 500)}`);
  return { grantId: g.grantId ?? g.id ?? '', login: g.login, password: g.password, expiresAt: g.expiresAt ?? '' };
}

/** The broker's decision for `sql` on the benchmark target under a read grant (POST /v1/rules/check). */
export async function checkStatement(adminUrl: string, token: string, sql: string): Promise<{ action: string; rules: string[] }> {
  const r = await post(adminUrl, token, '/v1/rules/check', { sql, dialect: 'mysql', target: MYSQL_TARGET, access: 'read' });
  if (r.status !== 200) throw new Error(`rules check failed: HTTP ${r.status} ${r.text.slice(0, 300)}`);
  const body = JSON.parse(r.text) as { action?: string; rules?: { id: string; action?: string }[] };
  return { action: body.action ?? '?', rules: (body.rules ?? []).map((x) => (x.action ? `${x.id} (${x.action})` : x.id)) };
}

async function healthy(adminUrl: string): Promise<boolean> {
  try {
    const res = await fetch(`${adminUrl}/healthz`, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}
