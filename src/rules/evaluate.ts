// Rule evaluation: statement facts × rule sets → Decision. Pure and synchronous (hot path on a cache miss).
import type { StatementFacts } from '../sql/facts.js';
import { globMatch, matchColumn, matchFunction, matchName } from './glob.js';
import type { RuleCondition, RuleSet } from './rule-set.js';
import { addRowLimit } from './row-limit.js';
import { ACTION_STRENGTH } from './types.js';
import type { Decision, EvalContext, RowLimit, RuleMatch } from './types.js';

/**
 * Every rule is tested against every statement, nested ones included, so a write hidden in a CTE,
 * behind EXPLAIN ANALYZE or after a `;` meets the same rules as a plain one. The strongest action
 * wins; `rules[0]` is the first-declared match among the strongest.
 */
export function evaluate(rulesets: readonly RuleSet[], statements: StatementFacts[], ctx: EvalContext): Decision {
  const matches: RuleMatch[] = [];
  let rowLimit: RowLimit | undefined;
  for (const set of rulesets) {
    for (const rule of set.rules) {
      statements.forEach((st, i) => {
        if (!conditionMatches(rule.when, st, ctx)) return;
        if (rule.unless && conditionMatches(rule.unless, st, ctx)) return;
        // a WHERE refused as not proven scoped says what made it so (the rule's own text cannot know)
        const text = rule.messages?.[ctx.dialect] ?? rule.message;
        const message = rule.when.where && st.where === 'always-true' && st.whereReason ? `${text} (${st.whereReason})` : text;
        const m: RuleMatch = { id: rule.id, ruleset: set.name, action: rule.action, message, statement: i };
        if (rule.mask !== undefined) m.mask = rule.mask;
        if (rule.action === 'mask' && rule.when.columns) m.columns = rule.when.columns;
        matches.push(m);
        rowLimit = addRowLimit(rowLimit, rule, statements, i, ctx.dialect);
      });
    }
  }
  // Array.prototype.sort is stable, so declaration order survives within one strength
  matches.sort((a, b) => ACTION_STRENGTH[b.action] - ACTION_STRENGTH[a.action]);
  const d: Decision = { action: matches[0]?.action ?? 'allow', rules: matches, statements };
  if (rowLimit) d.rowLimit = rowLimit;
  return d;
}

/** All keys present in `c` must match; a list matches when any of its values does. */
export function conditionMatches(c: RuleCondition, st: StatementFacts, ctx: EvalContext): boolean {
  if (c.statement && !c.statement.includes(st.kind)) return false;
  if (c.object && !(st.object !== undefined && c.object.some((o) => o.toLowerCase() === st.object))) return false;
  if (c.effect && !st.effects.some((e) => c.effect!.includes(e))) return false;
  if (c.where && !(st.where !== null && c.where.includes(st.where))) return false;
  if (c.limit && !(st.limit !== null && c.limit.includes(st.limit))) return false;
  if (c.multiStatement !== undefined && st.multiStatement !== c.multiStatement) return false;
  if (c.drops !== undefined && (st.drops ?? false) !== c.drops) return false;
  if (c.access && !c.access.includes(ctx.access)) return false;
  if (c.targets && !c.targets.some((p) => globMatch(p, ctx.target))) return false;
  if (c.groups && !ctx.groups.some((g) => c.groups!.some((p) => globMatch(p, g)))) return false;
  if (c.tables && !st.tables.some((t) => c.tables!.some((p) => matchName(p, t.name)))) return false;
  if (c.columns && !st.columns.some((col) => c.columns!.some((p) => matchColumn(p, col)))) return false;
  if (c.predicates && !(st.predicates ?? []).some((col) => c.predicates!.some((p) => matchColumn(p, col)))) return false;
  if (c.functions && !st.functions.some((f) => c.functions!.some((p) => matchFunction(p, f)))) return false;
  return true;
}
