// `dbwarden audit verify [FILE]`: checks the audit file's hash chain offline.
import { existsSync } from 'node:fs';
import { CliError } from '../cli-error.js';
import { printJson, type Command } from '../command.js';

export const DEFAULT_AUDIT_FILE = './.dbwarden/audit.jsonl';

export const auditVerifyCommand: Command = {
  name: 'audit verify',
  arity: [0, 1],
  async run(ctx) {
    const file = ctx.args[0] ?? DEFAULT_AUDIT_FILE;
    if (!existsSync(file)) throw new CliError(`audit file ${file} not found`);
    const { verifyAuditFile } = await import('../../audit/verify.js');
    const r = await verifyAuditFile(file);
    if (ctx.json) printJson(ctx, r);
    else if (r.ok) ctx.out(`ok: ${r.count} events, hash chain intact (${file})\n`);
    else {
      ctx.out(`BROKEN: ${file}: ${r.count} events checked\n`);
      ctx.err(`audit chain broken at line ${r.firstBrokenLine ?? '?'}${r.firstBrokenSeq !== undefined ? ` (seq ${r.firstBrokenSeq})` : ''}: ${r.reason ?? 'hash mismatch'}`);
    }
    return r.ok ? 0 : 1;
  },
};
