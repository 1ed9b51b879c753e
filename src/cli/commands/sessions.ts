// `dbwarden sessions` and `dbwarden kill SESSION`: live sessions across broker instances.
import type { ApiSession } from '../api-types.js';
import { printJson, type Command } from '../command.js';
import { formatTable } from '../table.js';
import { relativeTime } from '../time-text.js';

export const sessionsCommand: Command = {
  name: 'sessions',
  arity: [0, 0],
  async run(ctx) {
    const list = await ctx.api().get<ApiSession[]>('/v1/sessions');
    if (ctx.json) printJson(ctx, list);
    else if (list.length === 0) ctx.out('no live sessions\n');
    else {
      ctx.out(formatTable(
        ['ID', 'IDENTITY', 'TARGET', 'DATABASE', 'PROTOCOL', 'CLIENT', 'STARTED', 'GRANT', 'INSTANCE'],
        list.map((s) => [s.id, s.identity, s.target, s.database, s.protocol, s.client, relativeTime(s.startedAt), s.grantId, s.instance]),
      ));
    }
    return 0;
  },
};

export const killCommand: Command = {
  name: 'kill',
  arity: [1, 1],
  async run(ctx) {
    const r = await ctx.api().post<{ id: string; killed: boolean }>(`/v1/sessions/${encodeURIComponent(ctx.args[0])}/kill`);
    if (ctx.json) printJson(ctx, r);
    else ctx.out(`session ${r.id} killed\n`);
    return 0;
  },
};
