// `dbwarden rules check` and `dbwarden rules lint`: the rule engine offline, no broker needed.
import { ACCESS_LEVELS } from '../../access.js';
import { existsSync, statSync } from 'node:fs';
import { CliError, UsageError } from '../cli-error.js';
import { listOpt, printJson, stringOpt, type Command } from '../command.js';

const DIALECTS = ['postgres', 'mysql'] as const;
const ACCESS = ACCESS_LEVELS;
/** the config's default rules folder; without one in the working directory the shipped rule sets apply */
export const LOCAL_RULES_DIR = './rules';

/** Loaded on use: it loads the SQL parser (WASM), which would otherwise slow every other command's start. */
const loadRuleEngine = () => import('../../rules/check.js');

function isDir(dir: string): boolean {
  return existsSync(dir) && statSync(dir).isDirectory();
}

async function rulesDir(given: string | undefined): Promise<string> {
  if (given !== undefined) {
    if (!isDir(given)) throw new UsageError(`rules folder ${given} not found`);
    return given;
  }
  return isDir(LOCAL_RULES_DIR) ? LOCAL_RULES_DIR : (await loadRuleEngine()).SHIPPED_RULES_DIR;
}

/** The rule sets `target` uses under the config in `file` (its `rulesets`, loaded from the config's `rules` folder). */
async function targetRuleSets(file: string, target: string | undefined) {
  const { loadConfig } = await import('../../config/load.js');
  const { loadRuleSets } = await import('../../rules/load.js');
  const config = loadConfig(file);
  const names = Object.keys(config.targets);
  if (!target) throw new UsageError(`--config needs --target (one of ${names.join(', ') || 'no targets configured'})`);
  const t = Object.hasOwn(config.targets, target) ? config.targets[target] : undefined;
  if (!t) throw new UsageError(`unknown target "${target}" in ${file} (targets: ${names.join(', ')})`);
  const { rulesets, errors } = loadRuleSets(config.rules);
  if (errors.length) throw new CliError(`rule files in ${config.rules} have errors; run: dbwarden rules lint ${config.rules}`);
  return t.rulesets.map((n) => {
    const rs = rulesets.get(n);
    if (!rs) throw new CliError(`target ${target} names rule set "${n}", which is not in ${config.rules}`);
    return rs;
  });
}

export const rulesCheckCommand: Command = {
  name: 'rules check',
  arity: [1, 1],
  options: {
    dialect: { type: 'string' },
    access: { type: 'string' },
    rules: { type: 'string' },
    target: { type: 'string' },
    config: { type: 'string' },
    group: { type: 'string', multiple: true },
  },
  async run(ctx) {
    const dialect = stringOpt(ctx, 'dialect');
    if (!dialect || !(DIALECTS as readonly string[]).includes(dialect)) throw new UsageError(`--dialect must be one of ${DIALECTS.join(', ')}`);
    const access = stringOpt(ctx, 'access') ?? 'write';
    if (!(ACCESS as readonly string[]).includes(access)) throw new UsageError(`--access must be one of ${ACCESS.join(', ')}`);
    const sql = ctx.args[0];
    if (sql.trim() === '') throw new UsageError('rules check: the SQL text is empty');
    const configFile = stringOpt(ctx, 'config');
    const target = stringOpt(ctx, 'target');
    const { checkSql, checkExitCode } = await loadRuleEngine();
    let result;
    if (configFile !== undefined) {
      // exactly what the broker applies on that target: its rule sets from the config's rules folder
      if (stringOpt(ctx, 'rules') !== undefined) throw new UsageError('--rules and --config exclude each other (the config names its rules folder)');
      const rulesets = await targetRuleSets(configFile, target);
      result = checkSql({ sql, dialect: dialect as (typeof DIALECTS)[number], access: access as (typeof ACCESS)[number], target, groups: listOpt(ctx, 'group'), rulesets });
    } else {
      const dir = await rulesDir(stringOpt(ctx, 'rules'));
      result = checkSql({
        sql,
        dialect: dialect as (typeof DIALECTS)[number],
        access: access as (typeof ACCESS)[number],
        target,
        groups: listOpt(ctx, 'group'),
        rulesDir: dir,
      });
    }
    printJson(ctx, result);
    return checkExitCode(result.action);
  },
};

export const rulesLintCommand: Command = {
  name: 'rules lint',
  arity: [0, 1],
  async run(ctx) {
    const dir = await rulesDir(ctx.args[0]);
    const { lintRules, formatRuleError } = await loadRuleEngine();
    const errors = lintRules(dir);
    if (ctx.json) printJson(ctx, { ok: errors.length === 0, errors });
    else if (errors.length === 0) ctx.out(`ok: the rule files in ${dir} are valid\n`);
    else for (const e of errors) ctx.err(formatRuleError(e));
    return errors.length === 0 ? 0 : 1;
  },
};
