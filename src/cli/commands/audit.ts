// `dbwarden audit verify [FILE]`: checks the audit file's hash chain offline (with its rotated files FILE.N … FILE.1).
import { CliError } from '../cli-error.js';
import { printJson, type Command } from '../command.js';

export const DEFAULT_AUDIT_FILE = './.dbwarden/audit.jsonl';

export const auditVerifyCommand: Command = {
  name: 'audit verify',
  arity: [0, 1],
  async run(ctx) {
    const file = ctx.args[0] ?? DEFAULT_AUDIT_FILE;
    const { verifyAuditTrail } = await import('../../audit/verify.js');
    const { trailFiles } = await import('../../audit/trail-files.js');
    if (trailFiles(file).length === 0) throw new CliError(`audit file ${file} not found`);
    const r = verifyAuditTrail(file);
    const rotated = r.files.length > 1 ? ` in ${r.files.length} files` : '';
    if (ctx.json) printJson(ctx, r);
    else if (r.ok) ctx.out(`ok: ${r.count} events${rotated}, hash chain intact (${file})\n`);
    else {
      ctx.out(`BROKEN: ${file}: ${r.count} events checked${rotated}\n`);
      const where = r.firstBrokenFile && r.files.length > 1 ? ` of ${r.firstBrokenFile}` : '';
      ctx.err(`audit chain broken at line ${r.firstBrokenLine ?? '?'}${where}${r.firstBrokenSeq !== undefined ? ` (seq ${r.firstBrokenSeq})` : ''}: ${r.reason ?? 'hash mismatch'}`);
    }
    return r.ok ? 0 : 1;
  },
};
