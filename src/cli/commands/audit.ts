// `dbwarden audit verify [FILE]`: checks the audit file's hash chain offline (with its rotated files FILE.N … FILE.1).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CliError, UsageError } from '../cli-error.js';
import { printJson, type Command } from '../command.js';

export const DEFAULT_AUDIT_FILE = './.dbwarden/audit.jsonl';

/**
 * The audit file a command reads: the FILE argument, else audit.file of --config (its default
 * <state.dir>/audit.jsonl included), else of ./dbwarden.yaml when there is one, else ./.dbwarden/audit.jsonl.
 */
export async function auditFileOf(given: string | undefined, configFile: string | undefined): Promise<string> {
  if (given !== undefined) {
    if (configFile !== undefined) throw new UsageError('give the audit FILE or --config, not both');
    return given;
  }
  const file = configFile ?? (existsSync('dbwarden.yaml') ? 'dbwarden.yaml' : undefined);
  if (file === undefined) return DEFAULT_AUDIT_FILE;
  const { loadConfig } = await import('../../config/load.js');
  const config = loadConfig(file);
  return config.audit.file ?? join(config.state.dir, 'audit.jsonl');
}

export const auditVerifyCommand: Command = {
  name: 'audit verify',
  arity: [0, 1],
  options: { config: { type: 'string' } },
  async run(ctx) {
    const file = await auditFileOf(ctx.args[0], typeof ctx.values.config === 'string' ? ctx.values.config : undefined);
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
