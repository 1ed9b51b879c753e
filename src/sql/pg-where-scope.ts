// Does a PostgreSQL WHERE / MERGE condition (libpg-query AST) constrain a column of the written table at all?

// Defends against writes whose condition is present but never looks at the target's rows: `WHERE now() IS NOT
// NULL`, `WHERE EXISTS (SELECT 1 FROM other)`, `WHERE current_user = 'app'`, `MERGE … ON true WHEN MATCHED AND
// s.id = 1`. Every row of the target gets the same answer, so the write touches all rows or none: "not proven
// scoped". An AND is scoped when one side is; an OR only when every side is; a leaf when it names a column of the
// target (bare, or qualified by the target's name or alias) outside any subquery, and not on both sides of a
// comparison (`a = a + 0`, `a < b`: the row compared with itself).

import { foldConstant } from './postgres-where.js';
import type { AstNode as Ast } from './ast.js';
import { coversDomain, NULL_PRESERVING_FUNCTIONS, preservingAll, type Nullness, type Polarity, type ScopeVerdict } from './where-domain.js';

export type { ScopeVerdict };

// libpg-query's AST is JSON walked by node name

const COMPARISONS = new Set(['=', '<>', '!=', '<', '>', '<=', '>=']);

/** more alternatives than this (ORs of many null tests) are not tracked: not proven scoped */
const MAX_ALTERNATIVES = 32;

/** Why `cond` is not proven to narrow the target (named by `names`: relation name and alias), or undefined. */
export function pgUnscopedReason(cond: Ast, names: ReadonlySet<string>): string | undefined {
  return pgWhereScope(cond, names).why;
}

export function pgWhereScope(cond: Ast, names: ReadonlySet<string>): ScopeVerdict {
  if (cond === null || typeof cond !== 'object') return { why: 'the condition is not an expression' };
  // false or NULL for every row: touches no row
  const v = foldConstant(cond);
  if (v !== undefined && v !== true) return {};
  const b = cond.BoolExpr;
  if (b?.boolop === 'AND_EXPR') {
    // scoped when one side is: the alternatives of every side add up
    const sides = (b.args ?? []).map((a: Ast) => pgWhereScope(a, names));
    if (sides.some((x: ScopeVerdict) => x.why === undefined)) return {};
    const alts = sides.flatMap((x: ScopeVerdict) => x.ifNullable ?? []);
    return alts.length && alts.length <= MAX_ALTERNATIVES ? { why: sides[0]!.why, ifNullable: alts } : { why: sides[0]!.why };
  }
  if (b?.boolop === 'OR_EXPR') {
    const cover = coversDomain(disjuncts(cond), polarity);
    if (cover !== undefined) return { why: cover };
    // scoped when every side is: each alternative takes one alternative of every side
    let alts: string[][] = [[]];
    let why: string | undefined;
    for (const a of b.args ?? []) {
      const side = pgWhereScope(a, names);
      if (side.why === undefined) continue;
      why ??= `one side of OR is not scoped: ${side.why}`;
      if (!side.ifNullable) return { why };
      alts = alts.flatMap((x) => side.ifNullable!.map((y) => [...new Set([...x, ...y])]));
      if (alts.length > MAX_ALTERNATIVES) return { why };
    }
    return why === undefined ? {} : { why, ifNullable: alts };
  }
  if (!mentionsTarget(cond, names)) return { why: 'no condition on a column of the written table (constants, functions, other tables or uncorrelated subqueries only)' };
  const e = cond.A_Expr;
  const op = e?.kind === 'AEXPR_OP' ? String(e.name?.[0]?.String?.sval ?? '') : '';
  if (COMPARISONS.has(op) && mentionsTarget(e.lexpr, names) && mentionsTarget(e.rexpr, names)) return { why: 'the condition compares the row with itself' };
  const why = selfTest(cond, names) ?? subquerySetReason(cond, names, false) ?? domainTautology(cond);
  if (why !== undefined) return { why };
  return nullnessOnly(cond, names);
}

// Values derived from the row itself (issue 12, families a and e): a test whose every side comes from the row being
// written narrows nothing, whatever the operator: `name LIKE name`, `id = ANY(ARRAY[id])`, `id IN (id, 5)`,
// `id BETWEEN id AND id`, `id IS NOT DISTINCT FROM id`, and a subquery correlated to the row (`id = (SELECT t.id)`,
// `id IN (SELECT t.id FROM u)`) is the row too.

/** Why a test only compares the row with itself, or undefined. */
function selfTest(cond: Ast, names: ReadonlySet<string>): string | undefined {
  const SELF = 'the condition compares the row with itself (both sides come from the same row)';
  const e = cond.A_Expr;
  if (e && e.lexpr !== undefined && rowDerived(e.lexpr, names)) {
    const items: Ast[] | undefined = e.rexpr?.List?.items ?? e.rexpr?.A_ArrayExpr?.elements;
    if (e.kind === 'AEXPR_BETWEEN' || e.kind === 'AEXPR_BETWEEN_SYM' || e.kind === 'AEXPR_NOT_BETWEEN' || e.kind === 'AEXPR_NOT_BETWEEN_SYM') {
      // one bound from the row is trivially met; the other may still narrow
      if (items && items.every((i) => rowDerived(i, names))) return SELF;
    } else if (items && (e.kind === 'AEXPR_IN' || e.kind === 'AEXPR_OP_ANY')) {
      // IN / = ANY is an OR over its items: one item from the row can select every row
      if (items.some((i) => rowDerived(i, names))) return SELF;
    } else if (rowDerived(e.rexpr, names)) return SELF;
  }
  const sl = cond.SubLink;
  if (sl && sl.testexpr !== undefined && rowDerived(sl.testexpr, names) && correlated(sl.subselect, names)) return SELF;
  return undefined;
}

/** A column of the target, or a subquery that reads one (correlated to the row). */
function rowDerived(node: Ast, names: ReadonlySet<string>): boolean {
  return mentionsTarget(node, names) || hasCorrelatedSubquery(node, names);
}

function hasCorrelatedSubquery(node: Ast, names: ReadonlySet<string>): boolean {
  if (Array.isArray(node)) return node.some((n) => hasCorrelatedSubquery(n, names));
  if (node === null || typeof node !== 'object') return false;
  for (const key in node) {
    const v = node[key];
    if (v === null || typeof v !== 'object') continue;
    if (key === 'SubLink') {
      if (correlated(v.subselect, names) || hasCorrelatedSubquery(v.testexpr, names)) return true;
      continue;
    }
    if (hasCorrelatedSubquery(v, names)) return true;
  }
  return false;
}

/**
 * Whether a subquery reads the outer row: a column qualified by the written table's name or alias that the
 * subquery does not bind itself, or a bare column in a subquery without FROM (it can only be the outer row's).
 * Bare columns of a subquery with its own FROM are taken as its own (the catalog is not consulted here).
 */
function correlated(subselect: Ast, names: ReadonlySet<string>): boolean {
  const sel = subselect?.SelectStmt;
  if (!sel) return false;
  const own = new Set<string>();
  collect(sel, (key, v) => {
    // `FROM t AS t2` binds t2 only: `t.col` inside still names the outer row
    if (key === 'RangeVar') own.add(String(v.alias?.aliasname ?? v.relname ?? '').toLowerCase()); else if ((key === 'RangeSubselect' || key === 'RangeFunction') && typeof v.alias?.aliasname === 'string') own.add(v.alias.aliasname.toLowerCase());
  });
  const noFrom = !sel.fromClause?.length && !sel.larg;
  let outer = false;
  collect(sel, (key, v) => {
    if (key !== 'ColumnRef') return;
    const fields: string[] = (v.fields ?? []).map((f: Ast) => (typeof f?.String?.sval === 'string' ? f.String.sval.toLowerCase() : '*'));
    if (fields.length === 1 && fields[0] !== '*' && noFrom) outer = true;
    const q = fields.length >= 2 ? fields[fields.length - 2]! : undefined;
    if (q !== undefined && names.has(q) && !own.has(q)) outer = true;
  });
  return outer;
}

function collect(node: Ast, visit: (key: string, v: Ast) => void): void {
  if (Array.isArray(node)) {
    for (const n of node) collect(n, visit);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  for (const key in node) {
    const v = node[key];
    if (v === null || typeof v !== 'object') continue;
    visit(key, v);
    collect(v, visit);
  }
}

/**
 * Sets from subqueries that can be shown to hold for every row (issue 12, family e):
 * - `x IN (SELECT x FROM <the written table>)` with no narrowing WHERE (directly or through a derived table)
 *   contains every row's own value;
 * - NOT IN, `<> ALL`, any `op ALL` over a subquery that is empty whatever the data (WHERE false, LIMIT 0) holds
 *   for every row.
 */
function subquerySetReason(cond: Ast, names: ReadonlySet<string>, negated: boolean): string | undefined {
  const not = cond.BoolExpr;
  if (not?.boolop === 'NOT_EXPR' && not.args?.length === 1) return subquerySetReason(not.args[0], names, !negated);
  // Defends against `id = ANY(ARRAY(SELECT id FROM t))` and `id <> ALL(ARRAY(SELECT … WHERE false))`: an ARRAY
  // subquery under ANY/ALL is the same set as the subquery under IN/ALL, spelled as an array
  const e = cond.A_Expr;
  const arr = e?.rexpr?.SubLink?.subLinkType === 'ARRAY_SUBLINK' ? e.rexpr.SubLink : undefined;
  if (arr && (e.kind === 'AEXPR_OP_ANY' || e.kind === 'AEXPR_OP_ALL')) {
    return subquerySetReason({ SubLink: { subLinkType: e.kind === 'AEXPR_OP_ANY' ? 'ANY_SUBLINK' : 'ALL_SUBLINK', testexpr: e.lexpr, operName: e.name, subselect: arr.subselect } }, names, negated);
  }
  const sl = cond.SubLink;
  if (!sl) return undefined;
  const sel = sl.subselect?.SelectStmt;
  if (!sel) return undefined;
  const any = sl.subLinkType === 'ANY_SUBLINK';
  const all = sl.subLinkType === 'ALL_SUBLINK';
  if ((any && negated) || (all && !negated)) {
    if (emptySelect(sel)) return `${any ? 'NOT IN' : 'ALL'} over a subquery that returns no row holds for every row`;
  }
  if (any && !negated && (sl.operName === undefined || sl.operName?.[0]?.String?.sval === '=')) {
    const col = columnName(sl.testexpr);
    if (col !== undefined && everyValueOf(sel, [col], names)) return `${col} IN (SELECT ${col} FROM the same table) holds for every row whose ${col} is not null`;
    // Defends against `(id, v) IN (SELECT id, v FROM t)`: a row of the table's own columns in the set of those
    // columns of every row holds for every row whose columns are not null
    const row: Ast[] | undefined = sl.testexpr?.RowExpr?.args;
    const cols = row?.map(columnName);
    if (cols && cols.length > 0 && cols.every((c) => c !== undefined) && everyValueOf(sel, cols as string[], names)) {
      return `(${cols.join(', ')}) IN (SELECT ${cols.join(', ')} FROM the same table) holds for every row whose columns are not null`;
    }
  }
  return undefined;
}

function emptySelect(sel: Ast): boolean {
  if (sel.op && sel.op !== 'SETOP_NONE') return false;
  const w = sel.whereClause === undefined ? undefined : foldConstant(sel.whereClause);
  if (sel.whereClause !== undefined && w !== undefined && w !== true) return true;
  // LIMIT 0 (libpg-query leaves a zero integer's value out)
  const c = sel.limitCount?.A_Const;
  return c?.ival !== undefined && !c.ival.ival;
}

function columnName(node: Ast): string | undefined {
  const f: Ast[] | undefined = node?.ColumnRef?.fields;
  const last = f?.[f.length - 1]?.String?.sval;
  return typeof last === 'string' ? last.toLowerCase() : undefined;
}

/** Whether `sel` yields `cols` (in order) of every row of a written table (no narrowing WHERE, LIMIT, HAVING or set operation). */
function everyValueOf(sel: Ast, cols: readonly string[], names: ReadonlySet<string>, ctes: Map<string, Ast> = new Map()): boolean {
  for (const c of sel.withClause?.ctes ?? []) {
    const cte = c?.CommonTableExpr;
    if (cte?.ctename && cte.ctequery?.SelectStmt) ctes = new Map([...ctes, [String(cte.ctename).toLowerCase(), cte.ctequery.SelectStmt]]);
  }
  // a UNION holds every value one of its sides holds (INTERSECT and EXCEPT may remove some)
  if (sel.op === 'SETOP_UNION') return everyValueOf(sel.larg, cols, names, ctes) || everyValueOf(sel.rarg, cols, names, ctes);
  if ((sel.op && sel.op !== 'SETOP_NONE') || sel.limitCount !== undefined || sel.limitOffset !== undefined || sel.havingClause !== undefined) return false;
  if (sel.fromClause?.length !== 1 || sel.targetList?.length !== cols.length) return false;
  const from = sel.fromClause[0];
  const outs: Ast[] = sel.targetList.map((t: Ast) => t?.ResTarget?.val);
  const star = outs.some((out) => out?.ColumnRef?.fields?.some((f: Ast) => f?.A_Star !== undefined) === true);
  if (!star && outs.some((out, i) => columnName(out) !== cols[i])) return false;
  const rv = from.RangeVar;
  const inner = new Set<string>();
  const cte = rv && rv.schemaname === undefined ? ctes.get(String(rv.relname).toLowerCase()) : undefined;
  if (cte) return sel.whereClause === undefined && !star && everyValueOf(cte, cols, names, ctes);
  if (rv) {
    if (!names.has(String(rv.relname).toLowerCase())) return false;
    inner.add(String(rv.relname).toLowerCase());
    if (rv.alias?.aliasname) inner.add(String(rv.alias.aliasname).toLowerCase());
    if (star) return false; // `SELECT * FROM t` has every column: not one value per row
    return sel.whereClause === undefined || pgUnscopedReason(sel.whereClause, inner) !== undefined;
  }
  const derived = from.RangeSubselect?.subquery?.SelectStmt;
  return derived !== undefined && sel.whereClause === undefined && everyValueOf(derived, cols, names, ctes);
}


/**
 * A condition that looks at the target's columns only through null tests (`col IS NOT NULL`, `NOT (col IS
 * NULL)`, `col IS DISTINCT FROM NULL`, `(col IS NULL) = false`, …) is the same for every row when those columns
 * are declared NOT NULL: it narrows only if one of them is nullable. A plain `col IS NULL` is exempt (for a NOT
 * NULL column it is false for every row: it touches none).
 */
function nullnessOnly(cond: Ast, names: ReadonlySet<string>): ScopeVerdict {
  const n = cond.NullTest;
  let arg = n?.arg;
  while (arg?.TypeCast) arg = arg.TypeCast.arg;
  // `(v || NULL) IS NULL`: NULL propagates from a constant, so the test holds for every row
  if (n?.nulltesttype === 'IS_NULL' && arg !== undefined && nullness(arg, names) === 'always') return { why: 'the tested expression is NULL for every row (a NULL operand propagates)' };
  if (n?.nulltesttype === 'IS_NULL' && (arg?.ColumnRef || arg?.RowExpr || arg?.FuncCall)) return {};
  if (cond.A_Expr?.kind === 'AEXPR_NOT_DISTINCT' && (isNull(cond.A_Expr.lexpr) || isNull(cond.A_Expr.rexpr))) return {};
  const cols = new Set<string>();
  if (!nullTestedOnly(cond, names, cols) || !cols.size) return {};
  // the row value is never NULL: no catalog answer makes this scoped
  if (cols.has(WHOLE_ROW)) return { why: 'the whole row (or a function of it) tested for NULL: a row value is never NULL' };
  if (cols.has(NEVER_NULL)) return { why: 'an expression that is never NULL (concat, concat_ws, format) tested for NULL' };
  const list = [...cols];
  return {
    why: `${list.join(', ')} tested only for NULL: true for every row if ${list.length > 1 ? 'they are' : 'it is'} declared NOT NULL (not known to be nullable)`,
    ifNullable: list.map((c) => [c]),
  };
}

const isNull = (x: Ast): boolean => x?.A_Const?.isnull === true;

/** Marks a null test of the whole row in nullTestedOnly's column set (no column name can hold a NUL). */
const WHOLE_ROW = '\u0000row';
/** Marks a null test of an expression that is never NULL. */
const NEVER_NULL = '\u0000never';

/** Operators whose result is NULL exactly when an operand is (arithmetic, concatenation, comparison). */
const PRESERVING_OPS = new Set(['+', '-', '*', '||', '=', '<>', '!=', '<', '>', '<=', '>=', '^', '|/', '@']);
const NEVER_NULL_FUNCTIONS = new Set(['format', 'concat_ws']);

/**
 * How `x`'s NULLs relate to the target's columns (where-domain.ts Nullness). Defends against null tests wrapped in
 * functions and operators (`lower(v) IS NOT NULL`, `id + 0 IS NOT NULL`, `concat(v) IS NOT NULL`): each holds for
 * every row of a NOT NULL column, or every row at all, like the column's own test.
 */
function nullness(x: Ast, names: ReadonlySet<string>): Nullness {
  while (x?.TypeCast) x = x.TypeCast.arg;
  if (x?.A_Const) return x.A_Const.isnull === true ? 'always' : 'never';
  if (x?.ColumnRef) {
    const col = targetColumn(x, names);
    return col === undefined ? 'value' : { cols: new Set([col]) };
  }
  const e = x?.A_Expr;
  if (e) {
    const op = String(e.name?.[e.name.length - 1]?.String?.sval ?? '');
    if (e.kind !== 'AEXPR_OP' || !PRESERVING_OPS.has(op)) return 'value';
    return preservingAll([e.lexpr, e.rexpr].filter((o) => o !== undefined).map((o) => nullness(o, names)));
  }
  const f = x?.FuncCall;
  if (f && !f.agg_star && !f.over && !f.agg_filter) {
    const name = String(f.funcname?.[f.funcname.length - 1]?.String?.sval ?? '').toLowerCase();
    const schema = f.funcname?.length > 1 ? String(f.funcname[0]?.String?.sval ?? '').toLowerCase() : 'pg_catalog';
    if (schema !== 'pg_catalog') return 'value';
    const args: Ast[] = f.args ?? [];
    // concat skips NULL arguments; format and concat_ws are NULL only for a NULL format / separator
    if (name === 'concat' && args.length > 0) return 'never';
    if (NEVER_NULL_FUNCTIONS.has(name) && args.length > 0 && nullness(args[0], names) === 'never') return 'never';
    if (NULL_PRESERVING_FUNCTIONS.has(name) && args.length > 0) return preservingAll(args.map((a) => nullness(a, names)));
  }
  return 'value';
}

/** True when every target column in `node` (outside subqueries) sits directly under a null test; collects them. */
function nullTestedOnly(node: Ast, names: ReadonlySet<string>, cols: Set<string>): boolean {
  if (Array.isArray(node)) return node.every((x) => nullTestedOnly(x, names, cols));
  if (node === null || typeof node !== 'object') return true;
  const tested = (x: Ast): boolean => {
    // Defends against null tests that wrap the column or the whole row: `id::text IS NOT NULL` is null exactly when
    // id is (a cast keeps NULL and nothing else), and `to_jsonb(t)`, `row_to_json(t)`, `t::text` of the row itself
    // are never NULL: each holds for every row of a NOT NULL column, or every row at all.
    while (x?.TypeCast) x = x.TypeCast.arg;
    if (wholeRow(x, names) || (x?.FuncCall && (x.FuncCall.args ?? []).length > 0 && x.FuncCall.args.every((a: Ast) => wholeRow(a, names)))) {
      cols.add(WHOLE_ROW);
      return true;
    }
    const items: Ast[] = x?.RowExpr ? x.RowExpr.args ?? [] : [x];
    // `ROW(t.*) IS NOT NULL` tests every column for NULL, like `t.* IS NOT NULL`: the columns are not listed here,
    // so no catalog answer can make it scoped (true for every row of a table whose columns are all NOT NULL)
    if (items.some((i) => wholeRow(i, names))) {
      cols.add(WHOLE_ROW);
      return true;
    }
    const kinds = items.map((i) => nullness(i, names));
    if (kinds.some((k) => k === 'value' || k === 'always')) return false;
    for (const k of kinds) {
      if (k === 'never') cols.add(NEVER_NULL);
      else for (const c of (k as { cols: Set<string> }).cols) cols.add(c);
    }
    return true;
  };
  if (node.NullTest && tested(node.NullTest.arg)) return true;
  const e = node.A_Expr;
  if ((e?.kind === 'AEXPR_DISTINCT' || e?.kind === 'AEXPR_NOT_DISTINCT') && ((isNull(e.rexpr) && tested(e.lexpr)) || (isNull(e.lexpr) && tested(e.rexpr)))) return true;
  for (const key in node) {
    const v = node[key];
    if (v === null || typeof v !== 'object') continue;
    if (key === 'SubLink') {
      if (!nullTestedOnly(v.testexpr, names, cols)) return false;
      continue;
    }
    if (key === 'ColumnRef') {
      if (mentionsTarget({ ColumnRef: v }, names)) return false;
      continue;
    }
    if (!nullTestedOnly(v, names, cols)) return false;
  }
  return true;
}

/** `t` or `t.*` naming the written table (its alias): the row value itself, never NULL as a datum. */
function wholeRow(x: Ast, names: ReadonlySet<string>): boolean {
  while (x?.TypeCast) x = x.TypeCast.arg;
  const fields: Ast[] | undefined = x?.ColumnRef?.fields;
  if (!fields) return false;
  const first = fields[0]?.String?.sval;
  if (typeof first !== 'string' || !names.has(first.toLowerCase())) return false;
  return fields.length === 1 || (fields.length === 2 && fields[1]?.A_Star !== undefined);
}

/** The column name of a plain reference to a target column, else undefined. */
function targetColumn(x: Ast, names: ReadonlySet<string>): string | undefined {
  const fields: Ast[] | undefined = x?.ColumnRef?.fields;
  if (!fields || !mentionsTarget(x, names)) return undefined;
  const last = fields[fields.length - 1]?.String?.sval;
  return typeof last === 'string' ? last : undefined;
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
  if (e.kind === 'AEXPR_OP' && tidBelowEveryRow(op, e.lexpr, e.rexpr)) return 'every row\'s ctid is at or above (0,1): the bound selects every row';
  if (e.kind === 'AEXPR_IN' && op === '=') {
    const items: Ast[] = e.rexpr?.List?.items ?? [];
    const values = new Set(items.map((i) => foldConstant(i)));
    if (values.has(true) && values.has(false)) return 'IN (true, false) holds for every boolean that is not null';
  }
  return undefined;
}

/**
 * Defends against `WHERE ctid >= '(0,0)'` (or `> '(0,0)'`, `<> '(0,0)'`, `'(0,1)' <= ctid`): a row's ctid is never
 * below (0,1) — line pointers start at 1 — so a bound at or below it is on the same side of every row.
 */
function tidBelowEveryRow(op: string, lexpr: Ast, rexpr: Ast): boolean {
  const isCtid = (n: Ast): boolean => {
    const fields: Ast[] = n?.ColumnRef?.fields ?? [];
    return String(fields[fields.length - 1]?.String?.sval ?? '').toLowerCase() === 'ctid';
  };
  const tid = (n: Ast): [number, number] | undefined => {
    let x = n;
    while (x?.TypeCast) x = x.TypeCast.arg;
    const v = foldConstant(x);
    const m = typeof v === 'string' ? /^\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)\s*$/.exec(v) : null;
    return m ? [Number(m[1]), Number(m[2])] : undefined;
  };
  const mirrored: Record<string, string> = { '<': '>', '>': '<', '<=': '>=', '>=': '<=', '<>': '<>', '!=': '!=' };
  const [bound, o] = isCtid(lexpr) ? [tid(rexpr), op] : isCtid(rexpr) ? [tid(lexpr), mirrored[op] ?? ''] : [undefined, ''];
  if (!bound) return false;
  const atOrBelowFirst = bound[0] === 0 && bound[1] <= 1;
  const belowFirst = bound[0] === 0 && bound[1] === 0;
  return (o === '>=' && atOrBelowFirst) || ((o === '>' || o === '<>' || o === '!=') && belowFirst);
}

/**
 * Boolean-valued expressions (a null test of a plain column is a real filter on nullable columns). Value operators
 * (`->>`, `+`, NULLIF) are not conditions: their null tests are judged by nullness().
 */
function isCondition(node: Ast): boolean {
  const e = node?.A_Expr;
  if (e) {
    if (e.kind === 'AEXPR_NULLIF') return false;
    if (e.kind !== 'AEXPR_OP') return true;
    return CONDITION_OPS.has(String(e.name?.[e.name.length - 1]?.String?.sval ?? ''));
  }
  return node?.BoolExpr !== undefined || node?.NullTest !== undefined || node?.BooleanTest !== undefined;
}

const CONDITION_OPS = new Set(['=', '<>', '!=', '<', '>', '<=', '>=', '~', '~*', '!~', '!~*', '~~', '~~*', '!~~', '!~~*', '@>', '<@', '&&', '?', '?|', '?&', '@@']);

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
      // Defends against `WHERE tableoid > 0` / `WHERE tableoid = 't'::regclass`: the system column holds the
      // table's own oid, the same value in every row of a table (at most one partition's worth in a hierarchy),
      // so a test of it selects all rows or none. No user column can take the name (the server refuses it).
      if (fields[fields.length - 1] === 'tableoid') continue;
      if (fields.length === 1) return true;
      if (fields.length >= 2 && names.has(fields[fields.length - 2]!)) return true;
      continue;
    }
    if (mentionsTarget(v, names)) return true;
  }
  return false;
}
