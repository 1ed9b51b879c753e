// Runs the built broker (`dist/bin.js serve`, the package's bin) as a child with a generated config, and obtains a grant from its admin API.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { ChildSet } from './children.js';
import { freePort } from './free-port.js';

export interface BrokerOptions {
  repoDir: string;
  workDir: string;
  upstream: { host: string; port: number; database: string; user: string; password: string };
  rulesets: string[];
  /** node flags for the broker, e.g. ['--cpu-prof', '--cpu-prof-dir', DIR] */
  nodeArgs?: string[];
  /** client-side TLS required with this certificate pair (the TLS rows); plaintext when absent */
  clientTls?: { certFile: string; keyFile: string };
  /** the target's `upstreamSpares` (spare upstream connections per login key); absent = the default (off) */
  upstreamSpares?: number;
}

export interface BrokerProcess {
  pid: number;
  pgPort: number;
  adminUrl: string;
  configFile: string;
  output(): string;
}

export interface BenchGrant {
  grantId: string;
  login: string;
  password: string;
  expiresAt: string;
}

// The upstream password reaches the broker through the environment, as the docs recommend for real configs.
const PASSWORD_ENV = 'DBW_BENCH_UPSTREAM_PASSWORD';

export function brokerConfig(o: BrokerOptions, ports: { pg: number; admin: number }, tokenSha256: string): Record<string, unknown> {
  return {
    listen: { postgres: `127.0.0.1:${ports.pg}`, admin: `127.0.0.1:${ports.admin}` },
    // Plaintext on both sides, like the direct and pgbouncer paths, so the comparison measures the proxy only;
    // the TLS rows require client TLS on the broker and on the relay alike.
    tls: o.clientTls ? { clients: 'require', certFile: o.clientTls.certFile, keyFile: o.clientTls.keyFile } : { clients: 'disable' },
    state: { dir: join(o.workDir, 'state') },
    rules: join(o.repoDir, 'rules'),
    log: { level: 'warn' },
    targets: {
      bench: {
        protocol: 'postgres',
        host: o.upstream.host,
        port: o.upstream.port,
        databases: [o.upstream.database],
        tls: 'disable',
        rulesets: o.rulesets,
        ...(o.upstreamSpares ? { upstreamSpares: o.upstreamSpares } : {}),
        roles: { write: { user: o.upstream.user, password: `\${${PASSWORD_ENV}}` } },
      },
    },
    identities: { bench: { tokenSha256, groups: ['bench'] } },
    access: [{ name: 'bench-write', requesters: ['bench'], targets: ['bench'], access: ['write'], maxTtl: '2h', approvals: 0 }],
  };
}

/**
 * The package's bin (dist/bin.js) when it exists; early builds ran `serve` from dist/main.js directly.
 */
export function brokerEntry(repoDir: string): string {
  for (const name of ['bin.js', 'main.js']) {
    const file = join(repoDir, 'dist', name);
    if (existsSync(file)) return file;
  }
  throw new Error(`${join(repoDir, 'dist')} has no bin.js: run \`npm run build\` first`);
}

/** Starts the broker and waits until its admin API answers /healthz and its PostgreSQL port accepts connections. */
export async function startBrokerProcess(children: ChildSet, o: BrokerOptions): Promise<BrokerProcess & { token: string }> {
  const main = brokerEntry(o.repoDir);
  const ports = { pg: await freePort(), admin: await freePort() };
  const token = randomBytes(24).toString('base64url');
  const configFile = join(o.workDir, 'dbwarden.yaml');
  mkdirSync(join(o.workDir, 'state'), { recursive: true });
  writeFileSync(configFile, stringify(brokerConfig(o, ports, createHash('sha256').update(token).digest('hex'))));

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
    if ((await httpOk(`${adminUrl}/healthz`)) && (await tcpOpen('127.0.0.1', ports.pg))) break;
    if (Date.now() > deadline) throw new Error(`broker not ready after 30 s:\n${output().trim().slice(-2000)}`);
    await sleep(100);
  }
  return { pid: child.pid!, pgPort: ports.pg, adminUrl, configFile, output, token };
}

/** POST /v1/requests for a write grant; the policy auto-approves, so the answer carries the password. */
export async function requestGrant(adminUrl: string, token: string, database: string): Promise<BenchGrant> {
  const res = await fetch(`${adminUrl}/v1/requests`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ target: 'bench', access: 'write', ttl: '1h', reason: 'benchmark run', databases: [database] }),
  });
  const text = await res.text();
  let body: { grant?: { grantId?: string; id?: string; login?: string; password?: string; expiresAt?: string } } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    // reported below with the raw text
  }
  const g = body.grant;
  if (!res.ok || !g?.login || !g.password) throw new Error(`grant request failed: HTTP ${res.status} ${text.slice(0, 500)}`);
  return { grantId: g.grantId ?? g.id ?? '', login: g.login, password: g.password, expiresAt: g.expiresAt ?? '' };
}

async function httpOk(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

export function tcpOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.setTimeout(1000);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
