// `dbwarden reviews` and `dbwarden review approve|deny ID`: statements held by a `review` rule.
import type { ApiReview } from '../api-types.js';
import { printJson, stringOpt, type Command, type CommandContext } from '../command.js';
import { cell, formatTable } from '../table.js';
import { relativeTime } from '../time-text.js';

/** What the review's dry run found, in words an approver acts on. */
export function dryRunText(r: ApiReview): string {
  const d = r.dryRun;
  if (!d) return r.status === 'pending' ? 'dry run not done (yet)' : '';
  if (d.error !== undefined) return `would fail: ${d.error}`;
  if (d.skipped !== undefined) return `not dry-run: ${d.skipped}`;
  const rows = d.rows ?? 0;
  const parts = (d.changes ?? []).map((c) => `${c.command} ${c.rows.toLocaleString('en-US')}`).join(', ');
  return `would change ${rows.toLocaleString('en-US')} row${rows === 1 ? '' : 's'}${parts ? ` (${parts})` : ''}; rolled back`;
}

export const reviewsCommand: Command = {
  name: 'reviews',
  arity: [0, 0],
  async run(ctx) {
    const list = await ctx.api().get<ApiReview[]>('/v1/reviews');
    if (ctx.json) printJson(ctx, list);
    else if (list.length === 0) ctx.out('no reviews\n');
    else {
      ctx.out(formatTable(
        ['ID', 'IDENTITY', 'TARGET', 'GRANT', 'RULES', 'STATUS', 'CREATED', 'STATEMENT', 'DRY RUN'],
        list.map((r) => [r.id, r.identity, r.target, r.grantId, cell(r.ruleIds), r.status, relativeTime(r.createdAt), cell(r.text, 60), cell(dryRunText(r), 70)]),
      ));
    }
    return 0;
  },
};

async function decide(ctx: CommandContext, verb: 'approve' | 'deny'): Promise<number> {
  const comment = stringOpt(ctx, 'comment') ?? stringOpt(ctx, 'reason');
  const r = await ctx.api().post<ApiReview>(`/v1/reviews/${encodeURIComponent(ctx.args[0])}/${verb}`, comment ? { comment } : {});
  if (ctx.json) printJson(ctx, r);
  else ctx.out(`review ${r.id}: ${r.status}${r.dryRun ? ` (dry run: ${dryRunText(r)})` : ''}\n`);
  return 0;
}

const decisionOptions = { comment: { type: 'string' }, reason: { type: 'string' } } as const;

export const reviewApproveCommand: Command = { name: 'review approve', arity: [1, 1], options: decisionOptions, run: (ctx) => decide(ctx, 'approve') };
export const reviewDenyCommand: Command = { name: 'review deny', arity: [1, 1], options: decisionOptions, run: (ctx) => decide(ctx, 'deny') };
