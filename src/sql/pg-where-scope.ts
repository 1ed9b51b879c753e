// Does a PostgreSQL WHERE / MERGE condition (libpg-query AST) constrain a column of the written table at all?

// Defends against writes whose condition is present but never looks at the target's rows: `WHERE now() IS NOT
// NULL`, `WHERE EXISTS (SELECT 1 FROM other)`, `WHERE current_user = 'app'`, `MERGE … ON true WHEN MATCHED AND
// s.id = 1`. Every row of the target gets the same answer, so the write touches all rows or none: "not proven
// scoped". An AND is scoped when one side is; an OR only when every side is; a leaf when it names a column of the
// target (bare, or qualified by the target's name or alias) outside any subquery, and not on both sides of a
// comparison (`a = a + 0`, `a < b`: the row compared with itself).

import { foldConstant } from './postgres-where.js';
import type { AstNode as Ast } from './ast.js';

// libpg-query's AST is JSON walked by node name

const COMPARISONS = new Set(['=', '<>', '!=', '<', '>', '<=', '>=']);

/** Why `cond` is not proven to narrow the target (named by `names`: relation name and alias), or undefined. */
export function pgUnscopedReason(cond: Ast, names: ReadonlySet<string>): string | undefined {
  if (cond === null || typeof cond !== 'object') return 'the condition is not an expression';
  // false or NULL for every row: touches no row
  const v = foldConstant(cond);
  if (v !== undefined && v !== true) return undefined;
  const b = cond.BoolExpr;
  if (b?.boolop === 'AND_EXPR') {
    const reasons = (b.args ?? []).map((a: Ast) => pgUnscopedReason(a, names));
    return reasons.some((r: string | undefined) => r === undefined) ? undefined : reasons[0];
  }
  if (b?.boolop === 'OR_EXPR') {
    for (const a of b.args ?? []) {
      const why = pgUnscopedReason(a, names);
      if (why !== undefined) return `one side of OR is not scoped: ${why}`;
    }
    return undefined;
  }
  if (!mentionsTarget(cond, names)) return 'no condition on a column of the written table (constants, functions, other tables or uncorrelated subqueries only)';
  const e = cond.A_Expr;
  const op = e?.kind === 'AEXPR_OP' ? String(e.name?.[0]?.String?.sval ?? '') : '';
  if (COMPARISONS.has(op) && mentionsTarget(e.lexpr, names) && mentionsTarget(e.rexpr, names)) return 'the condition compares the row with itself';
  return undefined;
}

/** A column of the target outside subqueries: bare `col`, or `target.col` / `schema.target.col`. */
export function mentionsTarget(node: Ast, names: ReadonlySet<string>): boolean {
  if (Array.isArray(node)) return node.some((n) => mentionsTarget(n, names));
  if (node === null || typeof node !== 'object') return false;
  for (const key in node) {
    const v = node[key];
    if (v === null || typeof v !== 'object') continue;
    if (key === 'SubLink') {
      // only the tested expression (x IN (SELECT …)) belongs to this row
      if (mentionsTarget(v.testexpr, names)) return true;
      continue;
    }
    if (key === 'ColumnRef') {
      const fields: string[] = (v.fields ?? []).map((f: Ast) => (typeof f?.String?.sval === 'string' ? f.String.sval.toLowerCase() : '*'));
      if (fields.length === 1) return true;
      if (fields.length >= 2 && names.has(fields[fields.length - 2]!)) return true;
      continue;
    }
    if (mentionsTarget(v, names)) return true;
  }
  return false;
}
