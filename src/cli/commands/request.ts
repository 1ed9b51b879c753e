// `dbwarden request TARGET …` (ask for access, optionally wait for approval) and `dbwarden credentials REQUEST`.
import { ACCESS_LEVELS } from '../../access.js';
import { parseDuration } from '../../config/duration.js';
import { ApiError, type ApiClient } from '../api-client.js';
import type { ApiCredentials, ApiInfo, ApiRequest } from '../api-types.js';
import { CliError, UsageError } from '../cli-error.js';
import { listOpt, printJson, stringOpt, type Command, type CommandContext } from '../command.js';
import { connectLines } from '../connect-lines.js';
import { formatFields } from '../table.js';
import { cacheDir, GrantCache } from '../grant-cache.js';
import { instantText, shortDuration } from '../time-text.js';

const ACCESS: readonly string[] = ACCESS_LEVELS;
const DEFAULT_POLL_MS = 2_000;
/** without a terminal, a progress line every this often is enough to show the command is alive */
const PLAIN_PROGRESS_EVERY_MS = 30_000;

function durationOpt(name: string, text: string): number {
  try {
    return parseDuration(text);
  } catch (e) {
    throw new UsageError(`--${name}: ${(e as Error).message}`);
  }
}

export const requestCommand: Command = {
  name: 'request',
  arity: [1, 1],
  options: {
    access: { type: 'string' },
    ttl: { type: 'string' },
    reason: { type: 'string' },
    database: { type: 'string', multiple: true },
    wait: { type: 'boolean' },
    timeout: { type: 'string' },
  },
  async run(ctx) {
    const target = ctx.args[0];
    const access = stringOpt(ctx, 'access');
    const ttl = stringOpt(ctx, 'ttl');
    const reason = stringOpt(ctx, 'reason');
    if (!access || !ACCESS.includes(access)) throw new UsageError(`--access must be one of ${ACCESS.join(', ')}`);
    if (!ttl) throw new UsageError('--ttl is required, e.g. --ttl 30m');
    durationOpt('ttl', ttl);
    if (!reason?.trim()) throw new UsageError('--reason is required: say why you need access');
    const timeoutMs = durationOpt('timeout', stringOpt(ctx, 'timeout') ?? '10m');
    const databases = listOpt(ctx, 'database');

    const api = ctx.api();
    const created = await api.post<{ request: ApiRequest; grant?: ApiCredentials }>('/v1/requests', {
      target, access, ttl, reason, ...(databases.length ? { databases } : {}),
    });
    const { request } = created;

    if (created.grant?.password) {
      remember(ctx, api, request, created.grant);
      if (ctx.json) printJson(ctx, created);
      else await printActive(ctx, api, request, created.grant);
      return 0;
    }
    if (request.status !== 'pending' || !ctx.values.wait) {
      if (ctx.json) printJson(ctx, created);
      else printRequest(ctx, request);
      return request.status === 'denied' ? 1 : 0;
    }

    const final = await waitForDecision(ctx, api, request.id, timeoutMs);
    if (final.status !== 'active') {
      if (ctx.json) printJson(ctx, { request: final });
      ctx.err(`request ${final.id} is ${final.status}${decisionNote(final)}`);
      return 1;
    }
    const credentials = await api.post<ApiCredentials>(`/v1/requests/${encodeURIComponent(final.id)}/credentials`);
    remember(ctx, api, final, credentials);
    if (ctx.json) printJson(ctx, { request: final, credentials });
    else await printActive(ctx, api, final, credentials);
    return 0;
  },
};

/** `dbwarden credentials REQUEST`: the requester collects the password once a request was approved. */
export const credentialsCommand: Command = {
  name: 'credentials',
  arity: [1, 1],
  async run(ctx) {
    const api = ctx.api();
    const id = ctx.args[0];
    const credentials = await api.post<ApiCredentials>(`/v1/requests/${encodeURIComponent(id)}/credentials`);
    const request = await api.get<ApiRequest>(`/v1/requests/${encodeURIComponent(id)}`).catch(() => undefined);
    if (request) remember(ctx, api, request, credentials);
    if (ctx.json) {
      printJson(ctx, credentials);
      return 0;
    }
    await printActive(ctx, api, request ?? await api.get<ApiRequest>(`/v1/requests/${encodeURIComponent(id)}`), credentials);
    return 0;
  },
};

export async function waitForDecision(ctx: CommandContext, api: ApiClient, id: string, timeoutMs: number): Promise<ApiRequest> {
  const pollMs = ctx.io.pollIntervalMs ?? DEFAULT_POLL_MS;
  const tty = ctx.io.stderr.isTTY === true;
  const started = Date.now();
  const deadline = started + timeoutMs;
  let lastPlain = -Infinity;
  let note = '';
  const progress = (status: string) => {
    const now = Date.now();
    const line = `waiting for approval of ${id}: ${status}, ${shortDuration(now - started)} elapsed, timeout in ${shortDuration(deadline - now)}${note}`;
    if (tty) ctx.io.stderr.write(`\r\x1b[K${line}`);
    else if (now - lastPlain >= PLAIN_PROGRESS_EVERY_MS) {
      ctx.io.stderr.write(line + '\n');
      lastPlain = now;
    }
  };
  try {
    for (;;) {
      let status = 'pending';
      try {
        const r = await api.get<ApiRequest>(`/v1/requests/${encodeURIComponent(id)}`);
        if (r.status !== 'pending') return r;
        note = '';
      } catch (e) {
        // a restarting broker or a blip in the network should not end a ten-minute wait
        const transient = !(e instanceof ApiError) || e.status >= 500;
        if (!transient) throw e;
        note = ' (admin API unreachable, retrying)';
        status = 'unknown';
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new CliError(`timed out after ${shortDuration(timeoutMs)} waiting for approval of ${id}; once approved, run: dbwarden credentials ${id}`);
      }
      progress(status);
      await new Promise((r) => setTimeout(r, Math.min(pollMs, left)));
    }
  } finally {
    if (tty) ctx.io.stderr.write('\r\x1b[K');
  }
}

export function decisionNote(r: ApiRequest): string {
  const last = r.approvals?.at(-1);
  if (!last) return '';
  return ` (${last.decision} by ${last.by}${last.comment ? `: ${last.comment}` : ''})`;
}

function printRequest(ctx: CommandContext, r: ApiRequest): void {
  const required = r.approvalsRequired ?? 0;
  const got = (r.approvals ?? []).filter((a) => a.decision === 'approve').length;
  ctx.out(formatFields([
    ['request', r.id],
    ['status', r.status + decisionNote(r)],
    ['target', `${r.target} (${r.access}${r.databases?.length ? `, ${r.databases.join(', ')}` : ''})`],
    ['approvals', r.status === 'pending' ? `${got} of ${required}` : undefined],
  ]));
  if (r.status === 'pending') {
    ctx.out(`\nan approver runs:   dbwarden approve ${r.id}\nthen you run:       dbwarden credentials ${r.id}   (or request again with --wait)\n`);
  }
}

async function printActive(ctx: CommandContext, api: ApiClient, r: ApiRequest, c: ApiCredentials): Promise<void> {
  let info: ApiInfo | undefined;
  try {
    info = await api.get<ApiInfo>('/v1/info');
  } catch {
    info = undefined; // older brokers: fall back to the default ports
  }
  ctx.out(formatFields([
    ['request', `${r.id} (${r.status})`],
    ['grant', c.grantId],
    ['login', c.login],
    ['password', `${c.password}   (shown once)`],
    ['expires', instantText(c.expiresAt)],
  ]));
  const lines = connectLines({ login: c.login, target: r.target, database: r.databases?.[0], apiUrl: api.url, info });
  if (lines.length) {
    ctx.out('\n' + lines.map((l) => `  ${l}\n`).join(''));
    ctx.out(`\nthe client asks for the password (or: dbwarden connect ${r.target}, which passes it in the environment)\n`);
  }
}

/**
 * Keeps the password in the caller's owner-only grant cache so `dbwarden connect` can reuse the grant without a
 * new request; a cache that cannot be written only costs that reuse.
 */
export function remember(ctx: CommandContext, api: ApiClient, r: ApiRequest, c: ApiCredentials): void {
  try {
    new GrantCache(cacheDir(ctx.io.env)).save({
      grantId: c.grantId, login: c.login, password: c.password, expiresAt: c.expiresAt,
      target: r.target, access: r.access, databases: r.databases ?? [], apiUrl: api.url,
    });
  } catch {
    // read-only home, full disk: connect will request a new grant instead
  }
}
