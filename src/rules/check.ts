// Offline statement check and rule lint: the shared body of `dbwarden rules check|lint` and POST /v1/rules/check.
import { fileURLToPath } from 'node:url';
import { BrokerError, ErrorCode } from '../errors.js';
import { analyze, initSql } from '../sql/analyze.js';
import type { Dialect, ReadOptions, StatementFacts } from '../sql/facts.js';
import { evaluate } from './evaluate.js';
import { loadRuleSets } from './load.js';
import type { RuleError } from './load.js';
import type { RuleSet } from './rule-set.js';
import type { AccessLevel, Action } from './types.js';

// Importing this module loads the parser, so checkSql() can stay synchronous (the admin API answers
// from it directly) and offline callers such as the CLI need no separate initSql() call.
await initSql();

/** The rules folder shipped in the package (src/rules → ../../rules, dist/rules → ../../rules). */
export const SHIPPED_RULES_DIR = fileURLToPath(new URL('../../rules/', import.meta.url));

export interface CheckOptions {
  sql: string;
  dialect?: Dialect;
  /** default 'write' */
  access?: AccessLevel;
  target?: string;
  groups?: string[];
  /** rule sets to apply; else every set in `rulesDir`; else the shipped rules */
  rulesets?: readonly RuleSet[];
  rulesDir?: string;
  readOptions?: ReadOptions;
}

export interface CheckedRule {
  id: string;
  ruleset: string;
  action: Action;
  message: string;
  /** index into `statements` */
  statement: number;
}

export interface CheckResult {
  action: Action;
  rules: CheckedRule[];
  statements: StatementFacts[];
}

/**
 * Checks `sql` as the broker would for a session with the given access. Synchronous; throws
 * BRK_RULES_INVALID when `rulesDir` does not lint clean.
 */
export function checkSql(o: CheckOptions): CheckResult {
  const dialect = o.dialect ?? 'postgres';
  const rulesets = o.rulesets ?? loadValid(o.rulesDir ?? SHIPPED_RULES_DIR);
  const statements = analyze(dialect, o.sql, o.readOptions);
  const d = evaluate(rulesets, statements, {
    dialect,
    access: o.access ?? 'write',
    target: o.target ?? '',
    groups: o.groups ?? [],
  });
  return {
    action: d.action,
    rules: d.rules.map((m) => ({ id: m.id, ruleset: m.ruleset, action: m.action, message: m.message, statement: m.statement })),
    statements,
  };
}

/** A check request as the admin API takes it (POST /v1/rules/check): everything but the text may be left out. */
export interface TargetCheckRequest {
  sql: string;
  dialect?: Dialect;
  target?: string;
  access?: AccessLevel;
  groups?: string[];
}

/**
 * A check against the broker's own targets, with the defaults a request leaves out: the first target, that
 * target's protocol, read access, no groups; the rule sets are the ones the target is bound to.
 */
export function checkForTarget(
  req: TargetCheckRequest, targets: Readonly<Record<string, { protocol: Dialect }>>, rulesetsFor: (target: string) => readonly RuleSet[],
): CheckResult {
  const target = req.target ?? Object.keys(targets)[0] ?? '';
  const dialect = req.dialect ?? targets[target]?.protocol ?? 'postgres';
  return checkSql({ sql: req.sql, dialect, access: req.access ?? 'read', target, groups: req.groups ?? [], rulesets: rulesetsFor(target) });
}

/** Every problem in the rule files of `dir` (empty when they load clean). */
export function lintRules(dir: string = SHIPPED_RULES_DIR): RuleError[] {
  return loadRuleSets(dir).errors;
}

/** `file:line [rule id]: message`, the one-line form the CLI prints. */
export function formatRuleError(e: RuleError): string {
  return `${e.file}:${e.line}${e.ruleId ? ` [${e.ruleId}]` : ''}: ${e.message}`;
}

/** Exit codes of `rules check`: 0 allow/warn/mask, 3 block, 4 review. */
export function checkExitCode(action: Action): number {
  return action === 'block' ? 3 : action === 'review' ? 4 : 0;
}

function loadValid(dir: string): RuleSet[] {
  const { rulesets, errors } = loadRuleSets(dir);
  if (errors.length > 0) {
    throw new BrokerError(ErrorCode.RULES_INVALID, `invalid rules: ${formatRuleError(errors[0]!)}`, { errors });
  }
  return [...rulesets.values()];
}
