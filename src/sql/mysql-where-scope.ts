// Does a MySQL WHERE (sqlparser-rs AST) constrain a column of the written table at all? If not, it is not scoped.

// Defends against writes whose WHERE is present but cannot narrow the target's rows because it never looks at
// them: `WHERE 7 DIV 2 = 3`, `WHERE RAND() < 2`, `WHERE EXISTS (SELECT 1 FROM other)`, `WHERE @x IS NULL`,
// `UPDATE t, u SET t.a = 1 WHERE u.id = 1`. Every row of the target gets the same answer from such a condition,
// so whatever value it has, the write touches every row or none: it is "not proven scoped". Columns inside a
// subquery do not count (an uncorrelated EXISTS/IN is the same for every row); a bare column name does (it may be
// the target's), and so does `alias.col` or `db.table.col` naming a written table.

import { foldMysqlConstant, mysqlTruth } from './mysql-where.js';
import type { AstNode as Ast } from './ast.js';
import { coversDomain, type Polarity, type ScopeVerdict } from './where-domain.js';

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
  const why = domainTautology(where);
  if (why !== undefined) return { why };
  return nullnessOnly(where, targets);
}

/**
 * A condition that looks at the target's columns only through null tests (`col IS NOT NULL`, `NOT col IS NULL`,
 * `NOT ISNULL(col)`, `NOT (col <=> NULL)`, `ISNULL(col) = 0`, …) is the same for every row when those columns are
 * NOT NULL: it narrows only if one of them is nullable. A plain `col IS NULL` / `ISNULL(col)` / `col <=> NULL` is
 * exempt (false for every row of a NOT NULL column, or the rows the server's zero-date rule picks).
 */
function nullnessOnly(where: Ast, targets: ReadonlySet<string>): ScopeVerdict {
  if (nullTestedColumns(where, targets) !== undefined) return {};
  const cols = new Set<string>();
  if (!nullTestedOnly(where, targets, cols) || !cols.size) return {};
  const list = [...cols];
  return {
    why: `${list.join(', ')} tested only for NULL: true for every row if ${list.length > 1 ? 'they are' : 'it is'} declared NOT NULL (not known to be nullable)`,
    ifNullable: list.map((c) => [c]),
  };
}

/** The target column(s) a positive null test (`x IS NULL`, `ISNULL(x)`, `x <=> NULL`) tests, else undefined. */
function nullTestedColumns(n: Ast, targets: ReadonlySet<string>): string[] | undefined {
  while (n?.Nested) n = n.Nested;
  let arg: Ast;
  if (n?.IsNull !== undefined) arg = n.IsNull;
  else if (n?.BinaryOp?.op === 'Spaceship' && n.BinaryOp.right?.Value?.value === 'Null') arg = n.BinaryOp.left;
  else if (n?.BinaryOp?.op === 'Spaceship' && n.BinaryOp.left?.Value?.value === 'Null') arg = n.BinaryOp.right;
  else if (n?.Function && String(n.Function.name?.[n.Function.name.length - 1]?.value ?? n.Function.name?.[n.Function.name.length - 1]?.Identifier?.value ?? '').toLowerCase() === 'isnull') {
    const args: Ast[] = n.Function.args?.List?.args ?? [];
    if (args.length !== 1) return undefined;
    arg = args[0]?.Unnamed?.Expr;
  } else return undefined;
  while (arg?.Nested) arg = arg.Nested;
  const col = targetColumn(arg, targets);
  return col === undefined ? undefined : [col];
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
  return n?.BinaryOp !== undefined || n?.IsNull !== undefined || n?.IsNotNull !== undefined || n?.InList !== undefined || n?.Like !== undefined || n?.UnaryOp?.op === 'Not';
}

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
