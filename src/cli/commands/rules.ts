// `dbwarden rules check` and `dbwarden rules lint`: the rule engine offline, no broker needed.
import { existsSync, statSync } from 'node:fs';
import { UsageError } from '../cli-error.js';
import { listOpt, printJson, stringOpt, type Command } from '../command.js';

const DIALECTS = ['postgres', 'mysql'] as const;
const ACCESS = ['read', 'write', 'admin'] as const;
export const DEFAULT_RULES_DIR = './rules';
/** exit codes of `rules check`, part of the CLI contract (scripts and CI jobs rely on them) */
export const CHECK_EXIT = { allow: 0, warn: 0, mask: 0, review: 4, block: 3 } as const;

/** Loaded on use: the SQL parser (WASM) would otherwise slow every other command's start. */
const loadRuleEngine = () => import('../../rules/check.js');

function rulesDir(dir: string): string {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`rules folder ${dir} not found (pass --rules DIR)`);
  return dir;
}

export const rulesCheckCommand: Command = {
  name: 'rules check',
  arity: [1, 1],
  options: {
    dialect: { type: 'string' },
    access: { type: 'string' },
    rules: { type: 'string' },
    target: { type: 'string' },
    group: { type: 'string', multiple: true },
  },
  async run(ctx) {
    const dialect = stringOpt(ctx, 'dialect');
    if (!dialect || !(DIALECTS as readonly string[]).includes(dialect)) throw new UsageError(`--dialect must be one of ${DIALECTS.join(', ')}`);
    const access = stringOpt(ctx, 'access') ?? 'write';
    if (!(ACCESS as readonly string[]).includes(access)) throw new UsageError(`--access must be one of ${ACCESS.join(', ')}`);
    const sql = ctx.args[0];
    if (sql.trim() === '') throw new UsageError('rules check: the SQL text is empty');
    const { checkSql } = await loadRuleEngine();
    const result = await checkSql({
      sql,
      dialect: dialect as (typeof DIALECTS)[number],
      access: access as (typeof ACCESS)[number],
      target: stringOpt(ctx, 'target') ?? 'default',
      groups: listOpt(ctx, 'group'),
      rulesDir: rulesDir(stringOpt(ctx, 'rules') ?? DEFAULT_RULES_DIR),
    });
    printJson(ctx, result);
    return CHECK_EXIT[result.action as keyof typeof CHECK_EXIT] ?? 1;
  },
};

export const rulesLintCommand: Command = {
  name: 'rules lint',
  arity: [0, 1],
  async run(ctx) {
    const dir = rulesDir(ctx.args[0] ?? DEFAULT_RULES_DIR);
    const { lintRules } = await loadRuleEngine();
    const errors = (await lintRules(dir)) as unknown[];
    if (ctx.json) printJson(ctx, { ok: errors.length === 0, errors });
    else if (errors.length === 0) ctx.out(`ok: the rule files in ${dir} are valid\n`);
    else for (const e of errors) ctx.err(lintLine(e));
    return errors.length === 0 ? 0 : 1;
  },
};

/** "file:line: rule <id>: message" from whatever fields a lint error carries. */
function lintLine(e: unknown): string {
  if (typeof e !== 'object' || e === null) return String(e);
  const o = e as Record<string, unknown>;
  const where = [o.file, o.line].filter((x) => x !== undefined && x !== null).join(':');
  const rule = o.ruleId ?? o.rule ?? o.id;
  const message = typeof o.message === 'string' ? o.message : JSON.stringify(e);
  return [where, rule !== undefined ? `rule ${String(rule)}` : '', message].filter(Boolean).join(': ');
}
