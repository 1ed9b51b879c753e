// `dbwarden targets`: what the caller may request (targets, protocols, databases, access levels, max TTL, approvals).
import type { ApiTargets } from '../api-types.js';
import { printJson, type Command } from '../command.js';
import { formatTable } from '../table.js';

export const targetsCommand: Command = {
  name: 'targets',
  arity: [0, 0],
  async run(ctx) {
    const view = await ctx.api().get<ApiTargets>('/v1/targets');
    if (ctx.json) {
      printJson(ctx, view);
      return 0;
    }
    if (view.length === 0) {
      ctx.out('no target is open to you: no access policy names you as a requester\n');
      return 0;
    }
    ctx.out(formatTable(
      ['TARGET', 'PROTOCOL', 'ACCESS', 'DATABASES', 'MAX TTL', 'APPROVALS', 'POLICY'],
      view.flatMap((t) => t.access.map((a) => [
        t.name, t.protocol, a.access, a.databases.join(','), a.maxTtl, a.approvals === 0 ? 'none' : String(a.approvals), a.policy,
      ])),
    ));
    ctx.out(`\nconnect with: dbwarden connect TARGET [--access LEVEL] [--database D]\n`);
    return 0;
  },
};
