// Startup and /readyz check of every target: reachable, and each configured upstream role can log in.
import { readFileSync } from 'node:fs';
import { createConnection } from 'mysql2/promise';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { connectUpstream } from '../pg/upstream-connection.js';

export interface UpstreamProblem {
  target: string;
  /** the access level whose role failed; absent when the target itself is unreachable */
  access?: 'read' | 'write' | 'admin';
  user?: string;
  message: string;
}

const TIMEOUT_MS = 5_000;

async function loginPostgres(t: Config['targets'][string], user: string, password: string | undefined): Promise<void> {
  const c = await connectUpstream({
    host: t.host, port: t.port, user, password, database: t.databases[0]!, tls: t.tls,
    caFile: t.caFile, serverName: t.serverName, params: new Map([['application_name', 'dbwarden-check']]), timeoutMs: TIMEOUT_MS,
  });
  c.socket.end(Buffer.from([0x58, 0, 0, 0, 4])); // Terminate
}

async function loginMysql(t: Config['targets'][string], user: string, password: string | undefined): Promise<void> {
  const ssl = t.tls === 'require' || t.tls === 'verify-full'
    ? { rejectUnauthorized: t.tls === 'verify-full', ...(t.caFile ? { ca: readFileSync(t.caFile, 'utf8') } : {}), ...(t.serverName ? { servername: t.serverName } : {}) }
    : undefined;
  const c = await createConnection({
    host: t.host, port: t.port, user, password: password ?? '', database: t.databases[0], connectTimeout: TIMEOUT_MS,
    ...(ssl ? { ssl } : {}),
  });
  await c.end().catch(() => c.destroy());
}

/** A message without the password (connection libraries never put it in theirs, but be sure). */
function clean(e: unknown, password: string | undefined): string {
  const m = (e as Error)?.message ?? String(e);
  return password ? m.split(password).join('***') : m;
}

/**
 * Logs in once with every role of every target. A target that cannot be reached is one problem (its roles are
 * not tried); each role that cannot log in is another, naming target, access level and user.
 */
export async function checkUpstreams(targets: Config['targets']): Promise<UpstreamProblem[]> {
  const problems: UpstreamProblem[] = [];
  await Promise.all(Object.entries(targets).map(async ([name, t]) => {
    const login = t.protocol === 'postgres' ? loginPostgres : loginMysql;
    const roles = (['read', 'write', 'admin'] as const).filter((a) => t.roles[a]);
    // roles sharing a user and password are checked once
    const tried = new Map<string, Promise<string | undefined>>();
    for (const access of roles) {
      const role = t.roles[access]!;
      const key = `${role.user}\0${role.password ?? ''}`;
      if (!tried.has(key)) tried.set(key, login(t, role.user, role.password).then(() => undefined, (e) => clean(e, role.password)));
      const failed = await tried.get(key)!;
      if (failed === undefined) continue;
      if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|timed? ?out|no answer/i.test(failed)) {
        if (!problems.some((p) => p.target === name && !p.access)) problems.push({ target: name, message: `unreachable at ${t.host}:${t.port} (${failed})` });
        return;
      }
      problems.push({ target: name, access, user: role.user, message: failed });
    }
  }));
  return problems;
}

export function problemText(p: UpstreamProblem): string {
  return p.access
    ? `target ${p.target}: role for ${p.access} access (user ${p.user}) cannot log in: ${p.message}`
    : `target ${p.target}: ${p.message}`;
}

/** Runs the check at most every `everyMs`; /readyz reads the latest result without waiting on databases. */
export class UpstreamMonitor {
  private latest: UpstreamProblem[] = [];
  private running: Promise<UpstreamProblem[]> | undefined;
  private lastRun = 0;
  private lastText: string | undefined;

  constructor(private readonly targets: Config['targets'], private readonly logger: Logger, private readonly everyMs = 30_000) {}

  async run(): Promise<UpstreamProblem[]> {
    this.running ??= checkUpstreams(this.targets).then((problems) => {
      this.latest = problems;
      this.lastRun = Date.now();
      this.running = undefined;
      const text = problems.map(problemText).join('\n');
      // logged at startup and whenever the set of problems changes, not on every re-check
      if (text !== this.lastText) for (const p of problems) this.logger.warn({ target: p.target, access: p.access, user: p.user }, problemText(p));
      if (text !== this.lastText && this.lastText !== undefined && problems.length === 0) this.logger.info('every target and role answers again');
      this.lastText = text;
      return problems;
    });
    return this.running;
  }

  /** the last result; starts a new check in the background when it is older than everyMs */
  problems(): UpstreamProblem[] {
    if (Date.now() - this.lastRun > this.everyMs) void this.run();
    return this.latest;
  }
}
