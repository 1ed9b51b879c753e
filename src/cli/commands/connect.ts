// `dbwarden connect TARGET …`: reuse or request a grant, wait for approval, then start psql / mariadb with the password in the environment.
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { parseDuration } from '../../config/duration.js';
import type { ApiCredentials, ApiGrant, ApiInfo, ApiRequest, ApiTargets } from '../api-types.js';
import { CliError, UsageError } from '../cli-error.js';
import { stringOpt, type Command, type CommandContext } from '../command.js';
import { endpoint } from '../connect-lines.js';
import { cacheDir, GrantCache, type CachedGrant } from '../grant-cache.js';
import { relativeTime } from '../time-text.js';
import { decisionNote, remember, waitForDecision } from './request.js';

const DEFAULT_TTL_MS = 3_600_000;
const DEFAULT_LISTEN = { postgres: '127.0.0.1:7432', mysql: '127.0.0.1:7306' } as const;

type Target = ApiTargets[number];

function onPath(program: string, env: Record<string, string | undefined>): boolean {
  if (program.includes('/')) return true;
  return (env.PATH ?? '').split(delimiter).some((d) => {
    try {
      accessSync(join(d, program), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function clientProgram(protocol: 'postgres' | 'mysql', given: string | undefined, env: Record<string, string | undefined>): string {
  if (given) return given;
  if (protocol === 'postgres') return 'psql';
  return ['mariadb', 'mysql'].find((p) => onPath(p, env)) ?? 'mysql';
}

/** pgpass escapes ':' and '\' */
const pgpassField = (s: string) => s.replace(/[\\:]/g, (c) => `\\${c}`);
/** my.cnf option value in double quotes */
const cnfValue = (s: string) => `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
/** a shell word, quoted only when needed */
const sh = (s: string) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

function pickTarget(view: ApiTargets, name: string): Target {
  const t = view.find((x) => x.name === name);
  if (t) return t;
  const valid = view.map((x) => x.name);
  throw new UsageError(`unknown target "${name}" (${valid.length ? `targets you may request: ${valid.join(', ')}` : 'no target is open to you'})`);
}

async function liveCachedGrant(ctx: CommandContext, cache: GrantCache, want: { target: string; access: string; database: string }): Promise<CachedGrant | undefined> {
  const api = ctx.api();
  const candidates = cache.list().filter((c) => c.apiUrl === api.url && c.target === want.target && c.access === want.access && c.databases.includes(want.database));
  if (candidates.length === 0) return undefined;
  // a cached grant is the caller's own: only its requester ever held the password
  const live = new Map((await api.get<ApiGrant[]>('/v1/grants')).filter((g) => g.status === 'active').map((g) => [g.id, g]));
  for (const c of candidates) {
    const g = live.get(c.grantId);
    // a revoked or ended grant's password is useless: forget it
    if (!g) cache.remove(c.grantId);
    else return { ...c, expiresAt: g.expiresAt };
  }
  return undefined;
}

async function newGrant(ctx: CommandContext, target: Target, access: string, database: string, maxTtl: string): Promise<CachedGrant> {
  const api = ctx.api();
  const ttl = stringOpt(ctx, 'ttl') ?? (parseDuration(maxTtl) < DEFAULT_TTL_MS ? maxTtl : '1h');
  const reason = stringOpt(ctx, 'reason') ?? 'dbwarden connect';
  const timeoutMs = parseDuration(stringOpt(ctx, 'timeout') ?? '10m');
  const created = await api.post<{ request: ApiRequest; grant?: ApiCredentials }>('/v1/requests', {
    target: target.name, access, ttl, reason, databases: [database],
  });
  let request = created.request;
  let creds = created.grant?.password ? created.grant : undefined;
  if (!creds) {
    if (request.status === 'pending') {
      ctx.io.stderr.write(`dbwarden: request ${request.id} needs approval; an approver runs: dbwarden approve ${request.id}\n`);
      request = await waitForDecision(ctx, api, request.id, timeoutMs);
    }
    if (request.status !== 'active') throw new CliError(`request ${request.id} is ${request.status}${decisionNote(request)}`);
    creds = await api.post<ApiCredentials>(`/v1/requests/${encodeURIComponent(request.id)}/credentials`);
  }
  remember(ctx, api, request, creds);
  return {
    grantId: creds.grantId, login: creds.login, password: creds.password, expiresAt: creds.expiresAt,
    target: target.name, access, databases: request.databases ?? [database], apiUrl: api.url,
  };
}

export const connectCommand: Command = {
  name: 'connect',
  arity: [1, 1000],
  options: {
    access: { type: 'string' },
    database: { type: 'string' },
    ttl: { type: 'string' },
    reason: { type: 'string' },
    timeout: { type: 'string' },
    print: { type: 'boolean' },
    client: { type: 'string' },
  },
  async run(ctx) {
    const [name, ...clientArgs] = ctx.args;
    for (const opt of ['ttl', 'timeout']) {
      const v = stringOpt(ctx, opt);
      if (v !== undefined) {
        try {
          parseDuration(v);
        } catch (e) {
          throw new UsageError(`--${opt}: ${(e as Error).message}`);
        }
      }
    }
    const api = ctx.api();
    const view = await api.get<ApiTargets>('/v1/targets');
    const target = pickTarget(view, name!);
    const levels = target.access.map((a) => a.access);
    const access = stringOpt(ctx, 'access') ?? (levels.includes('read') ? 'read' : levels[0]!);
    const allowed = target.access.find((a) => a.access === access);
    if (!allowed) throw new UsageError(`you may not request ${access} access on ${target.name} (you may request: ${levels.join(', ')})`);
    const database = stringOpt(ctx, 'database') ?? allowed.databases[0]!;
    if (!allowed.databases.includes(database)) {
      throw new UsageError(`${access} access on ${target.name} does not cover database "${database}" (it covers ${allowed.databases.join(', ')})`);
    }

    const cache = new GrantCache(cacheDir(ctx.io.env));
    const reused = await liveCachedGrant(ctx, cache, { target: target.name, access, database });
    const grant = reused ?? await newGrant(ctx, target, access, database, allowed.maxTtl);
    ctx.io.stderr.write(`dbwarden: ${reused ? 'reusing' : 'using'} grant ${grant.grantId} (${access} on ${target.name}/${database}, expires ${relativeTime(grant.expiresAt)}); the session ends when the grant does\n`);

    const info = await api.get<ApiInfo>('/v1/info').catch(() => undefined);
    const listen = info?.listen[target.protocol] ?? DEFAULT_LISTEN[target.protocol];
    const { host, port } = endpoint(listen, api.url);
    const program = clientProgram(target.protocol, stringOpt(ctx, 'client'), ctx.io.env);
    // The password travels in the environment (or a 0600 file for --print), never in argv or a URL: argv is
    // visible to every local user in the process list, and command lines end up in shell history.
    let args: string[];
    let env: Record<string, string>;
    let printed: string;
    if (target.protocol === 'postgres') {
      args = ['-h', host, '-p', String(port), '-U', grant.login, '-d', database, ...clientArgs];
      env = { PGPASSWORD: grant.password };
      const file = cache.writeSecretFile(grant.grantId, 'pgpass', `${[host, String(port), database, grant.login, grant.password].map(pgpassField).join(':')}\n`);
      printed = `PGPASSFILE=${sh(file)} ${sh(program)} ${args.map(sh).join(' ')}`;
    } else {
      const file = cache.writeSecretFile(grant.grantId, 'cnf', `[client]\npassword=${cnfValue(grant.password)}\n`);
      args = ['-h', host, '-P', String(port), '-u', grant.login, `--database=${database}`, ...clientArgs];
      env = { MYSQL_PWD: grant.password };
      // --defaults-extra-file must come first
      printed = `${sh(program)} --defaults-extra-file=${sh(file)} ${args.map(sh).join(' ')}`;
    }
    if (ctx.values.print) {
      ctx.out(printed + '\n');
      return 0;
    }
    if (!onPath(program, ctx.io.env)) throw new CliError(`${program} is not installed (or not on PATH); use --client PROGRAM or --print`);
    return await new Promise<number>((resolve, reject) => {
      const child = spawn(program, args, { stdio: 'inherit', env: { ...ctx.io.env, ...env } });
      // Ctrl-C belongs to the client (psql cancels the running query with it), not to us
      const ignore = () => undefined;
      process.on('SIGINT', ignore);
      child.once('error', (e) => {
        process.off('SIGINT', ignore);
        reject(new CliError(`cannot start ${program}: ${e.message}`));
      });
      child.once('exit', (code, signal) => {
        process.off('SIGINT', ignore);
        resolve(code ?? (signal ? 128 + 2 : 1));
      });
    });
  },
};
