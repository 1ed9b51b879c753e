// `dbwarden requests`, `dbwarden approve ID`, `dbwarden deny ID`: list and decide access requests.
import type { ApiRequest } from '../api-types.js';
import { UsageError } from '../cli-error.js';
import { printJson, stringOpt, type Command, type CommandContext } from '../command.js';
import { cell, formatTable } from '../table.js';
import { relativeTime, shortDuration } from '../time-text.js';
import { decisionNote } from './request.js';

const STATUSES = ['pending', 'active', 'denied', 'expired', 'revoked'];

export const requestsCommand: Command = {
  name: 'requests',
  arity: [0, 0],
  options: { status: { type: 'string' } },
  async run(ctx) {
    const status = stringOpt(ctx, 'status');
    if (status && !STATUSES.includes(status)) throw new UsageError(`--status must be one of ${STATUSES.join(', ')}`);
    const list = await ctx.api().get<ApiRequest[]>(`/v1/requests${status ? `?status=${status}` : ''}`);
    if (ctx.json) printJson(ctx, list);
    else if (list.length === 0) ctx.out(status ? `no ${status} requests\n` : 'no requests\n');
    else {
      ctx.out(formatTable(
        ['ID', 'REQUESTER', 'TARGET', 'ACCESS', 'TTL', 'STATUS', 'APPROVALS', 'CREATED', 'REASON'],
        list.map((r) => [
          // a denied requester sees who denied it and why
          r.id, r.requester, r.target, r.access, shortDuration(r.ttlMs), r.status === 'denied' ? cell(`denied${decisionNote(r)}`, 60) : r.status,
          `${(r.approvals ?? []).filter((a) => a.decision === 'approve').length}/${r.approvalsRequired}`,
          relativeTime(r.createdAt), cell(r.reason, 40),
        ]),
      ));
    }
    return 0;
  },
};

async function decide(ctx: CommandContext, verb: 'approve' | 'deny', comment: string | undefined): Promise<number> {
  const id = ctx.args[0];
  const r = await ctx.api().post<ApiRequest>(`/v1/requests/${encodeURIComponent(id)}/${verb}`, comment ? { comment } : {});
  if (ctx.json) printJson(ctx, r);
  else {
    const got = (r.approvals ?? []).filter((a) => a.decision === 'approve').length;
    const more = r.status === 'pending' ? ` (${got} of ${r.approvalsRequired} approvals)` : '';
    ctx.out(`request ${r.id} by ${r.requester}: ${r.status}${more}\n`);
  }
  return 0;
}

export const approveCommand: Command = {
  name: 'approve',
  arity: [1, 1],
  options: { comment: { type: 'string' } },
  run: (ctx) => decide(ctx, 'approve', stringOpt(ctx, 'comment')),
};

export const denyCommand: Command = {
  name: 'deny',
  arity: [1, 1],
  options: { reason: { type: 'string' }, comment: { type: 'string' } },
  run: (ctx) => decide(ctx, 'deny', stringOpt(ctx, 'reason') ?? stringOpt(ctx, 'comment')),
};
