// The column masks that apply to a session (rules with action `mask`): rule data. Carrying a mask out (which mask
// a column gets, the masked value) is the session's (session/mask.ts).
import { conditionMatches } from './evaluate.js';
import type { StatementFacts } from '../sql/facts.js';
import type { RuleSet } from './rule-set.js';
import type { EvalContext, MaskKind } from './types.js';

export interface ColumnMask {
  ruleId: string;
  mask: MaskKind;
  /** schema.table.column globs */
  columns: string[];
  ruleset?: string;
  message?: string;
  /** views and functions (schema.name globs) this rule trusts not to return its masked values */
  clean?: string[];
}

/** A statement with no properties: only the session-level keys of a condition can match or fail on it. */
const PROBE: StatementFacts = { kind: 'select', effects: [], tables: [], columns: [], functions: [], where: null, limit: null, nested: false, multiStatement: false, index: 0 };

/** The mask rules whose session-level conditions (access, targets, groups) hold for this context. */
export function columnMasks(rulesets: readonly RuleSet[], ctx: EvalContext): ColumnMask[] {
  const out: ColumnMask[] = [];
  for (const set of rulesets) {
    for (const r of set.rules) {
      if (r.action !== 'mask' || !r.when.columns) continue;
      if (!conditionMatches({ access: r.when.access, targets: r.when.targets, groups: r.when.groups }, PROBE, ctx)) continue;
      out.push({ ruleId: r.id, mask: r.mask ?? 'redact', columns: r.when.columns, ruleset: set.name, message: r.message, ...(r.clean ? { clean: r.clean } : {}) });
    }
  }
  return out;
}
