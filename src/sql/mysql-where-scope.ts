// Does a MySQL WHERE (sqlparser-rs AST) constrain a column of the written table at all? If not, it is not scoped.

// Defends against writes whose WHERE is present but cannot narrow the target's rows because it never looks at
// them: `WHERE 7 DIV 2 = 3`, `WHERE RAND() < 2`, `WHERE EXISTS (SELECT 1 FROM other)`, `WHERE @x IS NULL`,
// `UPDATE t, u SET t.a = 1 WHERE u.id = 1`. Every row of the target gets the same answer from such a condition,
// so whatever value it has, the write touches every row or none: it is "not proven scoped". Columns inside a
// subquery do not count (an uncorrelated EXISTS/IN is the same for every row); a bare column name does (it may be
// the target's), and so does `alias.col` or `db.table.col` naming a written table.

import { foldMysqlConstant, mysqlTruth } from './mysql-where.js';
import type { AstNode as Ast } from './ast.js';
import { coversDomain, NULL_PRESERVING_FUNCTIONS, preservingAll, type Nullness, type Polarity, type ScopeVerdict } from './where-domain.js';

// sqlparser-rs's AST is serde JSON walked by variant name

/**
 * Why `where` is not proven to narrow the written table, or undefined when it is (a condition scoped only if the
 * catalog shows a column nullable counts as not scoped here: fail closed).
 */
export function unscopedReason(where: Ast, targets: ReadonlySet<string>, o: { opaqueDivide?: boolean } = {}): string | undefined {
  return mysqlWhereScope(where, targets, o).why;
}

/** more alternatives than this (ORs of many null tests) are not tracked: not proven scoped */
const MAX_ALTERNATIVES = 32;

/**
 * Whether `where` narrows the written table: `why` undefined when it does; otherwise it is not proven scoped unless,
 * for one of the column sets in `ifNullable`, the catalog shows every column nullable (`col IS NOT NULL` is true for
 * every row of a NOT NULL column). An AND is scoped when one side is, an OR/XOR only when every side is scoped or
 * constant false (one unscoped disjunct can select every row), anything else when it mentions a target column.
 */
export function mysqlWhereScope(where: Ast, targets: ReadonlySet<string>, o: { opaqueDivide?: boolean } = {}): ScopeVerdict {
  if (where === null || typeof where !== 'object') return { why: 'the condition is not an expression' };
  // a condition that is false or NULL for every row touches no row
  const v = foldMysqlConstant(where, o);
  if (v !== undefined && mysqlTruth(v) !== true) return {};
  if (where.Nested) return mysqlWhereScope(where.Nested, targets, o);
  const op = where.BinaryOp?.op;
  if (op === 'And') {
    const l = mysqlWhereScope(where.BinaryOp.left, targets, o);
    if (l.why === undefined) return {};
    const r = mysqlWhereScope(where.BinaryOp.right, targets, o);
    if (r.why === undefined) return {};
    const alts = [...(l.ifNullable ?? []), ...(r.ifNullable ?? [])];
    return alts.length && alts.length <= MAX_ALTERNATIVES ? { why: l.why, ifNullable: alts } : { why: l.why };
  }
  if (op === 'Or') {
    const cover = coversDomain(disjuncts(where), polarity);
    if (cover !== undefined) return { why: cover };
  }
  if (op === 'Or' || op === 'Xor') {
    let alts: string[][] = [[]];
    let why: string | undefined;
    for (const side of [where.BinaryOp.left, where.BinaryOp.right]) {
      const v = foldMysqlConstant(side, o);
      if (v !== undefined && mysqlTruth(v) !== true && op === 'Or') continue; // a false/NULL disjunct adds no rows
      const s = mysqlWhereScope(side, targets, o);
      if (s.why === undefined) continue;
      why ??= `one side of ${op.toUpperCase()} is not scoped: ${s.why}`;
      if (!s.ifNullable || op === 'Xor') return { why };
      alts = alts.flatMap((x) => s.ifNullable!.map((y) => [...new Set([...x, ...y])]));
      if (alts.length > MAX_ALTERNATIVES) return { why };
    }
    return why === undefined ? {} : { why, ifNullable: alts };
  }
  if (!mentionsTargetColumn(where, targets)) return { why: 'no condition on a column of the written table (constants, variables, other tables or uncorrelated subqueries only)' };
  // `a = b`, `col < col + 1`: both sides come from the same row, so nothing outside the row narrows it
  if (COMPARISONS.has(op) && mentionsTargetColumn(where.BinaryOp.left, targets) && mentionsTargetColumn(where.BinaryOp.right, targets)) {
    return { why: 'the condition compares the row with itself' };
  }
  const why = selfTest(where, targets) ?? subquerySetReason(where, targets, false) ?? domainTautology(where);
  if (why !== undefined) return { why };
  return nullnessOnly(where, targets);
}

// Values derived from the row itself (issue 12, families a and e), as in pg-where-scope.ts: a test whose every side
// comes from the row narrows nothing whatever the operator (`name LIKE name`, `id BETWEEN id AND id`, `id IN (id,
// 5)`, `id <=> id`), and a subquery correlated to the row (`id = (SELECT t.id)`) is the row too.

const SELF = 'the condition compares the row with itself (both sides come from the same row)';

function selfTest(where: Ast, targets: ReadonlySet<string>): string | undefined {
  const row = (n: Ast) => rowDerived(n, targets);
  const b = where.BinaryOp;
  if (b && COMPARISONS.has(b.op) && row(b.left) && row(b.right)) return SELF;
  const like = where.Like ?? where.ILike ?? where.RLike ?? where.SimilarTo;
  if (like && row(like.expr) && row(like.pattern)) return SELF;
  const bt = where.Between;
  if (bt && row(bt.expr) && row(bt.low) && row(bt.high)) return SELF;
  // IN is an OR over its items: one item from the row selects every row
  const list = where.InList;
  if (list && !list.negated && row(list.expr) && (list.list ?? []).some(row)) return SELF;
  const pair = where.IsNotDistinctFrom ?? where.IsDistinctFrom;
  if (Array.isArray(pair) && pair.length === 2 && row(pair[0]) && row(pair[1])) return SELF;
  const q = where.AnyOp ?? where.AllOp;
  if (q && row(q.left) && row(q.right)) return SELF;
  const inq = where.InSubquery;
  if (inq && row(inq.expr) && correlated(inq.subquery, targets)) return SELF;
  return undefined;
}

/** A column of a written table, or a subquery that reads one (correlated to the row). */
function rowDerived(n: Ast, targets: ReadonlySet<string>): boolean {
  return mentionsTargetColumn(n, targets) || hasCorrelatedSubquery(n, targets);
}

function hasCorrelatedSubquery(n: Ast, targets: ReadonlySet<string>): boolean {
  if (Array.isArray(n)) return n.some((x) => hasCorrelatedSubquery(x, targets));
  if (n === null || typeof n !== 'object') return false;
  for (const key in n) {
    const v = n[key];
    if (v === null || typeof v !== 'object') continue;
    if (SUBQUERY_KEYS.has(key) && v.body !== undefined) {
      if (correlated(v, targets)) return true;
      continue;
    }
    if (hasCorrelatedSubquery(v, targets)) return true;
  }
  return false;
}

/**
 * Whether a subquery reads the outer row: `t.col` naming a written table the subquery does not bind itself (`FROM t
 * AS t2` binds t2 only), or a bare column in a subquery without FROM. Bare columns of a subquery with a FROM are
 * taken as its own (the catalog is not consulted here).
 */
function correlated(query: Ast, targets: ReadonlySet<string>): boolean {
  const own = new Set<string>();
  let noFrom = false;
  walk(query, (key, v) => {
    if (key === 'Select') noFrom ||= !(v.from?.length > 0);
    if (key === 'Table' && Array.isArray(v.name)) {
      const alias = v.alias?.name?.value;
      own.add(String(alias ?? v.name[v.name.length - 1]?.Identifier?.value ?? v.name[v.name.length - 1]?.value ?? '').toLowerCase());
    }
    if (key === 'Derived' && v.alias?.name?.value) own.add(String(v.alias.name.value).toLowerCase());
  });
  let outer = false;
  walk(query, (key, v) => {
    if (key === 'Identifier' && typeof v.value === 'string' && !v.value.startsWith('@') && noFrom) outer = true;
    if (key === 'CompoundIdentifier' && Array.isArray(v) && v.length >= 2) {
      const q = String(v[v.length - 2]?.value ?? '').toLowerCase();
      if (targets.has(q) && !own.has(q)) outer = true;
    }
  });
  return outer;
}

function walk(n: Ast, visit: (key: string, v: Ast) => void): void {
  if (Array.isArray(n)) {
    for (const x of n) walk(x, visit);
    return;
  }
  if (n === null || typeof n !== 'object') return;
  for (const key in n) {
    const v = n[key];
    if (v === null || typeof v !== 'object') continue;
    // a function's or a table's name is not a column
    if (key === 'Function') {
      walk(v.args, visit);
      continue;
    }
    visit(key, v);
    if (key !== 'Table') walk(v, visit);
  }
}

/**
 * Sets from subqueries that hold for every row (issue 12, family e): `x IN (SELECT x FROM <the written table>)`
 * without a narrowing WHERE (directly or through a derived table) holds every row's own value; NOT IN and ALL over
 * a subquery that is empty whatever the data (WHERE/HAVING false, LIMIT 0) hold for every row.
 */
function subquerySetReason(where: Ast, targets: ReadonlySet<string>, negated: boolean): string | undefined {
  if (where?.Nested) return subquerySetReason(where.Nested, targets, negated);
  if (where?.UnaryOp?.op === 'Not') return subquerySetReason(where.UnaryOp.expr, targets, !negated);
  const inq = where?.InSubquery;
  const anyq = where?.AnyOp?.compare_op === 'Eq' && where.AnyOp.right?.Subquery ? where.AnyOp : undefined;
  const allq = where?.AllOp?.right?.Subquery ? where.AllOp : undefined;
  const isIn = inq !== undefined || anyq !== undefined;
  const neg = negated !== Boolean(inq?.negated);
  const query = inq?.subquery ?? anyq?.right?.Subquery ?? allq?.right?.Subquery;
  if (!query) return undefined;
  if ((isIn && neg) || (allq && !neg)) {
    if (emptyQuery(query)) return `${isIn ? 'NOT IN' : 'ALL'} over a subquery that returns no row holds for every row`;
  }
  if (isIn && !neg) {
    const col = columnName(inq?.expr ?? anyq?.left);
    if (col !== undefined && everyValueOf(query, [col], targets)) return `${col} IN (SELECT ${col} FROM the same table) holds for every row whose ${col} is not null`;
    // Defends against `(id, v) IN (SELECT id, v FROM (SELECT id, v FROM t) x)` / `ROW(id, v) IN (…)`: a row of the
    // table's own columns in the set of those columns of every row holds for every row whose columns are not null
    const cols = rowColumns(inq?.expr ?? anyq?.left);
    if (cols && everyValueOf(query, cols, targets)) {
      return `(${cols.join(', ')}) IN (SELECT ${cols.join(', ')} FROM the same table) holds for every row whose columns are not null`;
    }
  }
  return undefined;
}

/** The column names of `(a, b)` / `ROW(a, b)` when every item is a plain column, else undefined. */
function rowColumns(n: Ast): string[] | undefined {
  while (n?.Nested) n = n.Nested;
  const fn = n?.Function;
  const fnName = String(fn?.name?.[fn.name.length - 1]?.Identifier?.value ?? '').toUpperCase();
  const items: Ast[] | undefined = Array.isArray(n?.Tuple) ? n.Tuple
    : fnName === 'ROW' && fn.name.length === 1 ? (fn.args?.List?.args ?? []).map((a: Ast) => a?.Unnamed?.Expr) : undefined;
  if (!items || items.length === 0) return undefined;
  const cols = items.map(columnName);
  return cols.every((c) => c !== undefined) ? (cols as string[]) : undefined;
}

function emptyQuery(query: Ast): boolean {
  const sel = query?.body?.Select;
  if (!sel) return false;
  for (const c of [sel.selection, sel.having]) {
    if (c === undefined || c === null) continue;
    const v = foldMysqlConstant(c, {});
    if (v !== undefined && mysqlTruth(v) !== true) return true;
  }
  const limit = query.limit_clause?.LimitOffset?.limit?.Value?.value?.Number?.[0];
  return limit !== undefined && Number(limit) === 0;
}

function columnName(n: Ast): string | undefined {
  while (n?.Nested) n = n.Nested;
  if (typeof n?.Identifier?.value === 'string') return n.Identifier.value.toLowerCase();
  const parts = n?.CompoundIdentifier;
  return Array.isArray(parts) && parts.length ? String(parts[parts.length - 1]?.value ?? '').toLowerCase() : undefined;
}

/** Whether `query` yields `cols` (in order) of every row of a written table (no narrowing WHERE, HAVING, LIMIT or join). */
function everyValueOf(query: Ast, cols: readonly string[], targets: ReadonlySet<string>): boolean {
  const sel = query?.body?.Select;
  if (!sel || query.limit_clause || sel.having || sel.from?.length !== 1 || sel.from[0].joins?.length || !sel.projection?.length) return false;
  const outs: Ast[] = sel.projection;
  // one `*` stands for the derived table's whole row (checked below); else one column per name, in order
  const star = outs.length === 1 && (outs[0]?.Wildcard !== undefined || outs[0]?.QualifiedWildcard !== undefined);
  if (!star && (outs.length !== cols.length || outs.some((out, i) => columnName(out?.UnnamedExpr ?? out?.ExprWithAlias?.expr) !== cols[i]))) return false;
  const rel = sel.from[0].relation;
  if (rel?.Table) {
    const name = rel.Table.name?.[rel.Table.name.length - 1];
    const table = String(name?.Identifier?.value ?? name?.value ?? '').toLowerCase();
    if (!targets.has(table) || star) return false;
    const inner = new Set([table, ...(rel.Table.alias?.name?.value ? [String(rel.Table.alias.name.value).toLowerCase()] : [])]);
    return sel.selection === undefined || sel.selection === null || unscopedReason(sel.selection, inner) !== undefined;
  }
  const derived = rel?.Derived?.subquery;
  return derived !== undefined && (sel.selection === undefined || sel.selection === null) && everyValueOf(derived, cols, targets);
}


/**
 * A condition that looks at the target's columns only through null tests (`col IS NOT NULL`, `NOT col IS NULL`,
 * `NOT ISNULL(col)`, `NOT (col <=> NULL)`, `ISNULL(col) = 0`, …) is the same for every row when those columns are
 * NOT NULL: it narrows only if one of them is nullable. A plain `col IS NULL` / `ISNULL(col)` / `col <=> NULL` is
 * exempt (false for every row of a NOT NULL column, or the rows the server's zero-date rule picks).
 */
function nullnessOnly(where: Ast, targets: ReadonlySet<string>): ScopeVerdict {
  // `CONCAT(v, NULL) IS NULL`: NULL propagates from a constant, so the test holds for every row
  const positive = positiveNullArg(where);
  if (positive !== undefined && mysqlNullness(positive, targets) === 'always') return { why: 'the tested expression is NULL for every row (a NULL operand propagates)' };
  if (nullTestedColumns(where, targets) !== undefined) return {};
  const cols = new Set<string>();
  if (!nullTestedOnly(where, targets, cols) || !cols.size) return {};
  if (cols.has(NEVER_NULL)) return { why: 'an expression that is never NULL (CONCAT_WS, IFNULL/COALESCE with a constant, ISNULL, <=>) tested for NULL' };
  const list = [...cols];
  return {
    why: `${list.join(', ')} tested only for NULL: true for every row if ${list.length > 1 ? 'they are' : 'it is'} declared NOT NULL (not known to be nullable)`,
    ifNullable: list.map((c) => [c]),
  };
}

/** The operand of a positive null test (`x IS NULL`, `ISNULL(x)`, `x <=> NULL`), else undefined. */
function positiveNullArg(n: Ast): Ast | undefined {
  while (n?.Nested) n = n.Nested;
  if (n?.IsNull !== undefined) return n.IsNull;
  if (n?.BinaryOp?.op === 'Spaceship' && n.BinaryOp.right?.Value?.value === 'Null') return n.BinaryOp.left;
  if (n?.BinaryOp?.op === 'Spaceship' && n.BinaryOp.left?.Value?.value === 'Null') return n.BinaryOp.right;
  if (n?.Function && functionName(n.Function) === 'isnull') {
    const args: Ast[] = n.Function.args?.List?.args ?? [];
    return args.length === 1 ? args[0]?.Unnamed?.Expr : undefined;
  }
  return undefined;
}

function functionName(f: Ast): string {
  return String(f.name?.[f.name.length - 1]?.value ?? f.name?.[f.name.length - 1]?.Identifier?.value ?? '').toLowerCase();
}

/** Marks a null test of an expression that is never NULL in nullTestedOnly's column set. */
const NEVER_NULL = '\u0000never';

/** The target column(s) a positive null test (`x IS NULL`, `ISNULL(x)`, `x <=> NULL`) tests, else undefined. */
function nullTestedColumns(n: Ast, targets: ReadonlySet<string>): string[] | undefined {
  const arg = positiveNullArg(n);
  if (arg === undefined) return undefined;
  // Defends against null tests wrapped in casts, functions and operators (`CAST(id AS CHAR) IS NOT NULL`,
  // `LOWER(v) IS NOT NULL`, `id + 0 IS NOT NULL`, `CONCAT_WS('', v) IS NOT NULL`): each is NULL exactly when the
  // columns are (or never), so the test is the columns' own, true for every row of a NOT NULL column
  const k = mysqlNullness(arg, targets);
  if (k === 'never') return [NEVER_NULL];
  if (k === 'value' || k === 'always' || k.cols.size === 0) return undefined;
  return [...k.cols];
}

/** Operators whose result is NULL exactly when an operand is (division is not: by zero it is NULL). */
const PRESERVING_BINARY = new Set(['Plus', 'Minus', 'Multiply', 'Eq', 'NotEq', 'Lt', 'Gt', 'LtEq', 'GtEq', 'BitwiseAnd', 'BitwiseOr', 'BitwiseXor', 'StringConcat']);

/** How `x`'s NULLs relate to the target's columns (where-domain.ts Nullness). */
function mysqlNullness(x: Ast, targets: ReadonlySet<string>): Nullness {
  while (x?.Nested || x?.Cast) x = x.Nested ?? x.Cast.expr;
  if (x?.Value !== undefined) return x.Value?.value === 'Null' ? 'always' : 'never';
  if (x?.Identifier || x?.CompoundIdentifier) {
    const col = targetColumn(x, targets);
    return col === undefined ? 'value' : { cols: new Set([col]) };
  }
  const b = x?.BinaryOp;
  if (b) {
    if (b.op === 'Spaceship') return 'never';
    return PRESERVING_BINARY.has(b.op) ? preservingAll([mysqlNullness(b.left, targets), mysqlNullness(b.right, targets)]) : 'value';
  }
  if (x?.UnaryOp && ['Minus', 'Plus', 'Not'].includes(x.UnaryOp.op)) return mysqlNullness(x.UnaryOp.expr, targets);
  const f = x?.Function;
  if (f && (f.name?.length ?? 0) === 1 && f.over == null) {
    const name = functionName(f);
    const args: Ast[] = (f.args?.List?.args ?? []).map((a: Ast) => a?.Unnamed?.Expr);
    if (args.length === 0 || args.some((a) => a === undefined)) return 'value';
    const kinds = args.map((a) => mysqlNullness(a, targets));
    if (name === 'isnull') return 'never';
    // CONCAT is NULL when any argument is; CONCAT_WS skips NULL values (NULL only for a NULL separator)
    if (name === 'concat' || NULL_PRESERVING_FUNCTIONS.has(name)) return preservingAll(kinds);
    if (name === 'concat_ws' && kinds[0] === 'never') return 'never';
    if ((name === 'ifnull' || name === 'coalesce' || name === 'nvl') && kinds.includes('never')) return 'never';
  }
  return 'value';
}

/** True when every target column in `node` (outside subqueries) sits directly under a null test; collects them. */
function nullTestedOnly(node: Ast, targets: ReadonlySet<string>, cols: Set<string>): boolean {
  if (Array.isArray(node)) return node.every((x) => nullTestedOnly(x, targets, cols));
  if (node === null || typeof node !== 'object') return true;
  const direct = nullTestedColumns(node, targets) ?? (node.IsNotNull !== undefined ? nullTestedColumns({ IsNull: node.IsNotNull }, targets) : undefined)
    ?? (node.IsDistinctFrom ? nullTestedColumns({ BinaryOp: { op: 'Spaceship', left: node.IsDistinctFrom[0], right: node.IsDistinctFrom[1] } }, targets) : undefined)
    ?? (node.IsNotDistinctFrom ? nullTestedColumns({ BinaryOp: { op: 'Spaceship', left: node.IsNotDistinctFrom[0], right: node.IsNotDistinctFrom[1] } }, targets) : undefined);
  if (direct) {
    for (const c of direct) cols.add(c);
    return true;
  }
  if (mentionsTargetColumn(node, targets) === false) return true;
  if (node.Identifier !== undefined || node.CompoundIdentifier !== undefined) return false;
  for (const key in node) {
    const v = node[key];
    if (v === null || typeof v !== 'object' || SUBQUERY_KEYS.has(key)) continue;
    if ((key === 'Identifier' || key === 'CompoundIdentifier') && mentionsTargetColumn({ [key]: v }, targets)) return false;
    if (!nullTestedOnly(v, targets, cols)) return false;
  }
  return true;
}

/** The (lower-case) column name of a plain reference to a column that may be the target's, else undefined. */
function targetColumn(x: Ast, targets: ReadonlySet<string>): string | undefined {
  if (x?.Identifier && mentionsTargetColumn(x, targets)) return String(x.Identifier.value).toLowerCase();
  const parts = x?.CompoundIdentifier;
  if (Array.isArray(parts) && mentionsTargetColumn(x, targets)) return String(parts[parts.length - 1]?.value ?? '').toLowerCase();
  return undefined;
}

// Tautologies over a column's domain (issue 12, family c): `(x = k) IS NOT NULL`, `x LIKE '%'`, `b IN (TRUE,
// FALSE)`, and ORs holding a condition next to its negation (`x IS NULL OR x IS NOT NULL`, `x = k OR x <> k`).

function domainTautology(where: Ast): string | undefined {
  const inner = (n: Ast): Ast => (n?.Nested ? inner(n.Nested) : n);
  const nn = where.IsNotNull;
  if (nn !== undefined && isCondition(inner(nn))) return 'a null test of a condition holds for every row where the column is not null';
  const like = where.Like ?? where.ILike;
  const pattern = like ? foldMysqlConstant(like.pattern, {}) : undefined;
  if (like && !like.negated && typeof pattern === 'string' && /^%+$/.test(pattern)) return "LIKE '%' matches every value that is not null";
  const list = where.InList;
  if (list && !list.negated) {
    const values = new Set((list.list ?? []).map((i: Ast) => (i?.Value?.value?.Boolean !== undefined ? String(i.Value.value.Boolean) : undefined)));
    if (values.has('true') && values.has('false')) return 'IN (TRUE, FALSE) holds for every boolean that is not null';
  }
  return undefined;
}

function isCondition(n: Ast): boolean {
  // value operators (`->>`, `+`, `DIV`) are not conditions: their null tests are judged by mysqlNullness()
  if (n?.BinaryOp !== undefined) return CONDITION_BINARY.has(n.BinaryOp.op);
  return n?.IsNull !== undefined || n?.IsNotNull !== undefined || n?.InList !== undefined || n?.Like !== undefined || n?.UnaryOp?.op === 'Not';
}

const CONDITION_BINARY = new Set(['Eq', 'NotEq', 'Lt', 'Gt', 'LtEq', 'GtEq', 'Spaceship', 'And', 'Or', 'Xor', 'Regexp', 'RLike']);

function disjuncts(where: Ast): Ast[] {
  if (where?.Nested) return disjuncts(where.Nested);
  if (where?.BinaryOp?.op === 'Or') return [...disjuncts(where.BinaryOp.left), ...disjuncts(where.BinaryOp.right)];
  return [where];
}

const NEGATED: Record<string, [string, boolean]> = { Eq: ['eq', false], NotEq: ['eq', true], Lt: ['lt', false], GtEq: ['lt', true], Gt: ['gt', false], LtEq: ['gt', true] };
const MIRROR: Record<string, string> = { Eq: 'Eq', NotEq: 'NotEq', Lt: 'Gt', Gt: 'Lt', LtEq: 'GtEq', GtEq: 'LtEq' };

function polarity(n: Ast): Polarity[] {
  if (n?.Nested) return polarity(n.Nested);
  if (n?.UnaryOp?.op === 'Not') return polarity(n.UnaryOp.expr).map((p) => ({ key: p.key, neg: !p.neg }));
  if (n?.IsNull !== undefined) return [{ key: `null:${shape(n.IsNull)}`, neg: false }];
  if (n?.IsNotNull !== undefined) return [{ key: `null:${shape(n.IsNotNull)}`, neg: true }];
  const b = n?.BinaryOp;
  if (b && NEGATED[b.op]) {
    const [k, neg] = NEGATED[b.op]!;
    const [mk, mneg] = NEGATED[MIRROR[b.op]!]!;
    return [{ key: `cmp:${k}:${shape(b.left)}:${shape(b.right)}`, neg }, { key: `cmp:${mk}:${shape(b.right)}:${shape(b.left)}`, neg: mneg }];
  }
  if (n?.InList) return [{ key: `in:${shape(n.InList.expr)}:${shape(n.InList.list)}`, neg: Boolean(n.InList.negated) }];
  const like = n?.Like ?? n?.ILike;
  if (like) return [{ key: `like:${n.Like ? 'l' : 'i'}:${shape(like.expr)}:${shape(like.pattern)}`, neg: Boolean(like.negated) }];
  if (n?.Between) return [{ key: `between:${shape(n.Between.expr)}:${shape(n.Between.low)}:${shape(n.Between.high)}`, neg: Boolean(n.Between.negated) }];
  return [];
}

function shape(node: Ast): string {
  return JSON.stringify(node ?? null, (k, v) => (k === 'span' ? undefined : v));
}

const COMPARISONS = new Set(['Eq', 'NotEq', 'Lt', 'Gt', 'LtEq', 'GtEq', 'Spaceship']);

/** One table of a multi-table UPDATE/DELETE: its names (alias, name, db.name), whether it is written. */
export interface JoinedRelation {
  names: ReadonlySet<string>;
  written: boolean;
  /** the join's operator variant (Join, Inner, LeftOuter, …) and constraint ({On}, {Using}, Natural); none for the first */
  join?: Ast;
}

const INNER = new Set(['Join', 'Inner', 'CrossJoin', 'StraightJoin']);

/**
 * Multi-table form: every written table must be scoped by the WHERE and inner-join ON conditions, directly or
 * through a key link (`t.id = u.id`, USING, NATURAL) to a table that is. `DELETE t FROM t JOIN u ON t.id = u.id
 * WHERE u.owner = 'ann'` is scoped; `UPDATE t, u SET t.v = 1 WHERE u.id = 1` is not (nothing ties t to u's row).
 */
export function joinUnscopedReason(where: Ast, relations: readonly JoinedRelation[], o: { opaqueDivide?: boolean } = {}): string | undefined {
  const filters: Ast[] = [];
  const links: Array<[number, number]> = [];
  const addConjuncts = (e: Ast, filtering: boolean): void => {
    for (const c of conjuncts(e)) {
      const link = linkOf(c, relations);
      if (link) links.push(link);
      else if (filtering) filters.push(c);
    }
  };
  if (where) addConjuncts(where, true);
  relations.forEach((r, i) => {
    if (!r.join || typeof r.join !== 'object') return;
    const variant = Object.keys(r.join)[0]!;
    const constraint = r.join[variant];
    // an outer join's ON does not remove rows of the preserved side; its key links still tie the tables
    const filtering = INNER.has(variant);
    if (constraint?.On) addConjuncts(constraint.On, filtering);
    else if (constraint?.Using || constraint === 'Natural') for (let j = 0; j < i; j++) links.push([i, j]);
  });
  const scoped = new Set<number>();
  relations.forEach((r, i) => {
    if (filters.some((f) => unscopedReason(f, r.names, o) === undefined)) scoped.add(i);
  });
  for (let changed = true; changed;) {
    changed = false;
    for (const [a, b] of links) {
      if (scoped.has(a) !== scoped.has(b)) { scoped.add(a); scoped.add(b); changed = true; }
    }
  }
  const bad = relations.findIndex((r, i) => r.written && !scoped.has(i));
  if (bad < 0) return undefined;
  return `no condition narrows written table ${[...relations[bad]!.names].pop()} (directly or through a join key to a table that is narrowed)`;
}

function conjuncts(e: Ast): Ast[] {
  if (e?.Nested) return conjuncts(e.Nested);
  if (e?.BinaryOp?.op === 'And') return [...conjuncts(e.BinaryOp.left), ...conjuncts(e.BinaryOp.right)];
  return [e];
}

/** `a.x = b.y` between two different relations: the indexes of both, else undefined. */
function linkOf(c: Ast, relations: readonly JoinedRelation[]): [number, number] | undefined {
  if (c?.BinaryOp?.op !== 'Eq') return undefined;
  const side = (x: Ast): number => {
    while (x?.Nested) x = x.Nested;
    const parts = x?.CompoundIdentifier;
    if (!Array.isArray(parts) || parts.length < 2) return -1;
    const table = String(parts[parts.length - 2]?.value ?? '').toLowerCase();
    return relations.findIndex((r) => r.names.has(table));
  };
  const a = side(c.BinaryOp.left);
  const b = side(c.BinaryOp.right);
  return a >= 0 && b >= 0 && a !== b ? [a, b] : undefined;
}

/** Keys under which a subquery sits: its columns belong to another scope. */
const SUBQUERY_KEYS = new Set(['subquery', 'Subquery', 'query', 'Query']);

/**
 * True when `where` mentions a column that may belong to a written table. `targets` holds the lower-case
 * names and aliases of the written tables (unqualified table names too).
 */
export function mentionsTargetColumn(where: Ast, targets: ReadonlySet<string>): boolean {
  if (Array.isArray(where)) return where.some((n) => mentionsTargetColumn(n, targets));
  if (where === null || typeof where !== 'object') return false;
  for (const key in where) {
    const v = where[key];
    if (v === null || typeof v !== 'object') continue;
    if (SUBQUERY_KEYS.has(key)) continue;
    if (key === 'Identifier' && typeof v.value === 'string') {
      if (!v.value.startsWith('@')) return true;
      continue;
    }
    if (key === 'CompoundIdentifier' && Array.isArray(v)) {
      const parts: string[] = v.map((p: Ast) => String(p?.value ?? '').toLowerCase());
      if (parts[0]?.startsWith('@')) continue;
      // t.col or db.t.col: the table part must be a written table
      const table = parts.length >= 3 ? parts[parts.length - 2]! : parts[0]!;
      if (targets.has(table)) return true;
      continue;
    }
    // a function's name is not a column
    if (key === 'Function') {
      if (mentionsTargetColumn(v.args, targets)) return true;
      continue;
    }
    if (mentionsTargetColumn(v, targets)) return true;
  }
  return false;
}
