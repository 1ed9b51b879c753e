// Does a PostgreSQL WHERE / MERGE condition (libpg-query AST) constrain a column of the written table at all?

// Defends against writes whose condition is present but never looks at the target's rows: `WHERE now() IS NOT
// NULL`, `WHERE EXISTS (SELECT 1 FROM other)`, `WHERE current_user = 'app'`, `MERGE … ON true WHEN MATCHED AND
// s.id = 1`. Every row of the target gets the same answer, so the write touches all rows or none: "not proven
// scoped". An AND is scoped when one side is; an OR only when every side is; a leaf when it names a column of the
// target (bare, or qualified by the target's name or alias) outside any subquery, and not on both sides of a
// comparison (`a = a + 0`, `a < b`: the row compared with itself).

import { foldConstant } from './postgres-where.js';
import type { AstNode as Ast } from './ast.js';
import { coversDomain, type Polarity } from './where-domain.js';

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
    const cover = coversDomain(disjuncts(cond), polarity);
    if (cover !== undefined) return cover;
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
  return domainTautology(cond);
}

// Tautologies over a column's domain (issue 12, family c): conditions that hold for every row, or for every row
// whose column is not null, whatever the column's values: `(x = k) IS NOT NULL`, `x LIKE '%'`, `x ~ ''`,
// `b IN (true, false)`, and ORs holding a condition next to its own negation (`x IS NULL OR x IS NOT NULL`,
// `x = k OR x <> k`, `x < k OR x >= k`, `x IN (…) OR x NOT IN (…)`).

/** A leaf that holds for every non-null value of what it tests, or undefined. */
function domainTautology(cond: Ast): string | undefined {
  const n = cond.NullTest;
  if (n?.nulltesttype === 'IS_NOT_NULL' && isCondition(n.arg)) return 'a null test of a condition holds for every row where the column is not null';
  const bt = cond.BooleanTest;
  if (bt?.booltesttype === 'IS_NOT_UNKNOWN' && isCondition(bt.arg)) return 'IS NOT UNKNOWN of a condition holds for every row where the column is not null';
  const e = cond.A_Expr;
  if (!e) return undefined;
  const op = String(e.name?.[e.name.length - 1]?.String?.sval ?? '');
  const pattern = foldConstant(e.rexpr);
  if ((e.kind === 'AEXPR_LIKE' || e.kind === 'AEXPR_ILIKE') && !op.startsWith('!') && typeof pattern === 'string' && /^%+$/.test(pattern)) {
    return 'LIKE \'%\' matches every value that is not null';
  }
  if (e.kind === 'AEXPR_SIMILAR' && op === '~') {
    const arg = e.rexpr?.FuncCall?.args?.[0];
    const p = arg === undefined ? undefined : foldConstant(arg);
    if (typeof p === 'string' && /^%+$/.test(p)) return 'SIMILAR TO \'%\' matches every value that is not null';
  }
  if (e.kind === 'AEXPR_OP' && (op === '~' || op === '~*') && typeof pattern === 'string' && /^\^?(\.\*)*\$?$/.test(pattern) && pattern !== '^$') {
    return 'the regular expression matches every value that is not null';
  }
  if (e.kind === 'AEXPR_IN' && op === '=') {
    const items: Ast[] = e.rexpr?.List?.items ?? [];
    const values = new Set(items.map((i) => foldConstant(i)));
    if (values.has(true) && values.has(false)) return 'IN (true, false) holds for every boolean that is not null';
  }
  return undefined;
}

/** Boolean-valued expressions (a null test of a plain column is a real filter on nullable columns). */
function isCondition(node: Ast): boolean {
  return node?.A_Expr !== undefined || node?.BoolExpr !== undefined || node?.NullTest !== undefined || node?.BooleanTest !== undefined;
}

function disjuncts(cond: Ast): Ast[] {
  const b = cond?.BoolExpr;
  if (b?.boolop === 'OR_EXPR') return (b.args ?? []).flatMap(disjuncts);
  return [cond];
}

const NEGATED_OP: Record<string, [string, boolean]> = {
  '=': ['eq', false], '<>': ['eq', true], '!=': ['eq', true],
  '<': ['lt', false], '>=': ['lt', true], '>': ['gt', false], '<=': ['gt', true],
};
const MIRRORED_OP: Record<string, string> = { '=': '=', '<>': '<>', '!=': '!=', '<': '>', '>': '<', '<=': '>=', '>=': '<=' };

/** A condition reduced to a key and whether it is that key's negation; undefined for what it does not know. */
function polarity(cond: Ast): Polarity[] {
  const not = cond?.BoolExpr;
  if (not?.boolop === 'NOT_EXPR') return polarity(not.args?.[0]).map((p) => ({ key: p.key, neg: !p.neg }));
  const n = cond?.NullTest;
  if (n) return [{ key: `null:${shape(n.arg)}`, neg: n.nulltesttype === 'IS_NOT_NULL' }];
  const bt = cond?.BooleanTest;
  if (bt) {
    const t = String(bt.booltesttype);
    const base = t.replace('_NOT', '');
    return [{ key: `bool:${base}:${shape(bt.arg)}`, neg: t.includes('_NOT_') }];
  }
  const e = cond?.A_Expr;
  if (!e) return [];
  const op = String(e.name?.[e.name.length - 1]?.String?.sval ?? '');
  if (e.kind === 'AEXPR_OP' && NEGATED_OP[op]) {
    const [k, neg] = NEGATED_OP[op]!;
    const [mk, mneg] = NEGATED_OP[MIRRORED_OP[op]!]!;
    // `x = k` and `k <> x` are one key seen from both sides
    return [{ key: `cmp:${k}:${shape(e.lexpr)}:${shape(e.rexpr)}`, neg }, { key: `cmp:${mk}:${shape(e.rexpr)}:${shape(e.lexpr)}`, neg: mneg }];
  }
  if (e.kind === 'AEXPR_IN') return [{ key: `in:${shape(e.lexpr)}:${shape(e.rexpr)}`, neg: op === '<>' }];
  if (e.kind === 'AEXPR_LIKE' || e.kind === 'AEXPR_ILIKE' || e.kind === 'AEXPR_SIMILAR') {
    return [{ key: `${e.kind}:${op.replace(/^!/, '')}:${shape(e.lexpr)}:${shape(e.rexpr)}`, neg: op.startsWith('!') }];
  }
  if (e.kind === 'AEXPR_BETWEEN' || e.kind === 'AEXPR_NOT_BETWEEN') return [{ key: `between:${shape(e.lexpr)}:${shape(e.rexpr)}`, neg: e.kind === 'AEXPR_NOT_BETWEEN' }];
  return [];
}

function shape(node: Ast): string {
  return JSON.stringify(node ?? null, (k, v) => (k === 'location' || k === 'rexpr_list_start' || k === 'rexpr_list_end' ? undefined : v));
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
