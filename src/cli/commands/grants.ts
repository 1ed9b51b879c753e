// `dbwarden grants`, `dbwarden revoke GRANT`, `dbwarden extend GRANT --ttl`: inspect and end grants.
import { parseDuration } from '../../config/duration.js';
import type { ApiGrant } from '../api-types.js';
import { UsageError } from '../cli-error.js';
import { printJson, stringOpt, type Command } from '../command.js';
import { cell, formatTable } from '../table.js';
import { instantText, relativeTime } from '../time-text.js';

/** What a grant is now: a grant past its expiry is expired even before the sweep has written that down. */
export function grantState(g: ApiGrant, now = Date.now()): string {
  if (g.status === 'active' && Date.parse(g.expiresAt) <= now) return 'expired';
  return g.status;
}

/** The EXPIRES column: when a live grant ends, or when an ended one ended ("revoked 3m ago") — never "expires in" for a dead grant. */
export function grantEnd(g: ApiGrant, now = Date.now()): string {
  const state = grantState(g, now);
  if (state === 'active') return relativeTime(g.expiresAt, now);
  const at = g.endedAt ?? (state === 'expired' ? g.expiresAt : undefined);
  return at ? `${state} ${relativeTime(at, now)}` : state;
}

export const grantsCommand: Command = {
  name: 'grants',
  arity: [0, 0],
  options: { all: { type: 'boolean' } },
  async run(ctx) {
    const all = ctx.values.all === true;
    const list = await ctx.api().get<ApiGrant[]>(`/v1/grants${all ? '?all=1' : ''}`);
    if (ctx.json) printJson(ctx, list);
    else if (list.length === 0) ctx.out(all ? 'no grants\n' : 'no active grants\n');
    else {
      ctx.out(formatTable(
        ['ID', 'IDENTITY', 'LOGIN', 'TARGET', 'ACCESS', 'DATABASES', 'STATUS', 'EXPIRES'],
        list.map((g) => [g.id, g.identity, g.login, g.target, g.access, cell(g.databases), grantState(g), grantEnd(g)]),
      ));
    }
    return 0;
  },
};

export const revokeCommand: Command = {
  name: 'revoke',
  arity: [1, 1],
  options: { reason: { type: 'string' } },
  async run(ctx) {
    const reason = stringOpt(ctx, 'reason');
    const g = await ctx.api().post<ApiGrant>(`/v1/grants/${encodeURIComponent(ctx.args[0])}/revoke`, reason ? { reason } : {});
    if (ctx.json) printJson(ctx, g);
    else ctx.out(`grant ${g.id} (${g.login}) ${g.status}; its sessions are being ended\n`);
    return 0;
  },
};

export const extendCommand: Command = {
  name: 'extend',
  arity: [1, 1],
  options: { ttl: { type: 'string' } },
  async run(ctx) {
    const ttl = stringOpt(ctx, 'ttl');
    if (!ttl) throw new UsageError('--ttl is required, e.g. --ttl 15m');
    try {
      parseDuration(ttl);
    } catch (e) {
      throw new UsageError(`--ttl: ${(e as Error).message}`);
    }
    const g = await ctx.api().post<ApiGrant>(`/v1/grants/${encodeURIComponent(ctx.args[0])}/extend`, { ttl });
    if (ctx.json) printJson(ctx, g);
    else ctx.out(`grant ${g.id} now expires ${instantText(g.expiresAt)}\n`);
    return 0;
  },
};
