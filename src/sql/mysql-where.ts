// Constant folding of a MySQL WHERE clause (sqlparser-rs AST) to tell "scoped" from "touches every row".
import type { WhereStatus } from './facts.js';
import { likeToRegex } from './like-pattern.js';
import type { AstNode as Ast } from './ast.js';

// Defends against `DELETE FROM t WHERE 1`, `WHERE 'a'='a'`, `WHERE id=id OR true` and friends: a
// WHERE clause that is there but selects every row. Folding follows MySQL's rules (strings compare
// case-insensitively under the default collations, a string used as a number is its numeric prefix,
// `||` is OR unless PIPES_AS_CONCAT). Anything we cannot fold stays 'present'; folding only ever
// adds blocks, it never hides a real WHERE.

// sqlparser-rs's AST is serde JSON walked by variant name; its generated types do not help a generic walk
type Value = number | string | null;
const UNKNOWN = Symbol('unknown');
type Folded = Value | typeof UNKNOWN;

/**
 * Operators whose precedence sqlparser-rs gets wrong for MySQL (`1 DIV id = 5 OR 1` parses as
 * `1 DIV ((id = 5) OR 1)`; `a || b = c` as a concatenation). A WHERE holding one cannot be judged
 * from this tree, so the caller refuses the statement.
 */
const MISREAD_OPERATORS = new Set(['MyIntegerDivide', 'BitwiseXor', 'StringConcat']);

export function hasMisreadOperator(node: Ast, parentOp?: string): boolean {
  if (Array.isArray(node)) return node.some((n) => hasMisreadOperator(n));
  if (node === null || typeof node !== 'object') return false;
  if (node.BinaryOp && MISREAD_OPERATORS.has(node.BinaryOp.op)) return true;
  // XOR: MySQL binds it looser than comparisons, NOT and AND (`id = 1 XOR id <> 1` is `(id = 1) XOR (id <> 1)`),
  // the parser tighter (`id = (1 XOR id) <> 1`). Its tree is right only where XOR sits under OR or XOR alone (or
  // at the top, or inside explicit parentheses).
  if (node.BinaryOp?.op === 'Xor' && parentOp !== undefined && parentOp !== 'Or' && parentOp !== 'Xor') return true;
  // `a LIKE b = c` is `(a LIKE b) = c` to MySQL but `a LIKE (b = c)` to the parser
  if (node.Like && node.Like.pattern?.BinaryOp) return true;
  if (node.BinaryOp) return hasMisreadOperator(node.BinaryOp.left, node.BinaryOp.op) || hasMisreadOperator(node.BinaryOp.right, node.BinaryOp.op);
  if (node.UnaryOp) return hasMisreadOperator(node.UnaryOp.expr, `Unary${node.UnaryOp.op}`);
  for (const key in node) if (hasMisreadOperator(node[key], key === 'Nested' ? undefined : 'other')) return true;
  return false;
}

/** `/` may stand for a rewritten integer DIV (mysql-rewrites.ts): then no division is folded. Set per call. */
let opaqueDivide = false;

export function mysqlWhereStatus(where: Ast | undefined | null, o: { opaqueDivide?: boolean } = {}): WhereStatus {
  if (where === undefined || where === null) return 'absent';
  opaqueDivide = o.opaqueDivide === true;
  try {
    return truth(fold(where)) === true ? 'always-true' : 'present';
  } finally {
    opaqueDivide = false;
  }
}

/** Folds an expression to a constant when it has one; exported for tests. */
export function foldMysqlConstant(node: Ast, o: { opaqueDivide?: boolean } = {}): Value | undefined {
  opaqueDivide = o.opaqueDivide === true;
  try {
    const v = fold(node);
    return v === UNKNOWN ? undefined : v;
  } finally {
    opaqueDivide = false;
  }
}

/** MySQL truth of a folded constant: true, false, or null (unknown); exported for the scope check. */
export function mysqlTruth(v: Value): boolean | null {
  const t = truth(v);
  return t === undefined ? null : t;
}

function fold(node: Ast): Folded {
  if (node === null || typeof node !== 'object') return UNKNOWN;
  if (node.Value) return literal(node.Value.value);
  if (node.Nested) return fold(node.Nested);
  if (node.Prefixed) return fold(node.Prefixed.value); // _utf8mb4'a'
  if (node.UnaryOp) return unary(node.UnaryOp.op, node.UnaryOp.expr);
  if (node.BinaryOp) return binaryExpr(node.BinaryOp);
  if (node.IsNull !== undefined) return isNull(node.IsNull, true);
  if (node.IsNotNull !== undefined) return isNull(node.IsNotNull, false);
  if (node.IsTrue !== undefined) { const t = truth(fold(node.IsTrue)); return t === undefined ? UNKNOWN : t === true ? 1 : 0; }
  if (node.IsNotTrue !== undefined) { const t = truth(fold(node.IsNotTrue)); return t === undefined ? UNKNOWN : t === true ? 0 : 1; }
  if (node.IsFalse !== undefined) { const t = truth(fold(node.IsFalse)); return t === undefined ? UNKNOWN : t === false ? 1 : 0; }
  if (node.IsNotFalse !== undefined) { const t = truth(fold(node.IsNotFalse)); return t === undefined ? UNKNOWN : t === false ? 0 : 1; }
  if (node.IsUnknown !== undefined) { const t = truth(fold(node.IsUnknown)); return t === undefined ? UNKNOWN : t === null ? 1 : 0; }
  if (node.IsNotUnknown !== undefined) { const t = truth(fold(node.IsNotUnknown)); return t === undefined ? UNKNOWN : t === null ? 0 : 1; }
  if (node.InList) return inList(node.InList);
  if (node.Between) return between(node.Between);
  if (node.Like) return like(node.Like);
  if (node.RLike) return regexpMatch(node.RLike);
  if (node.Exists) return exists(node.Exists);
  if (node.Subquery) return scalarSubquery(node.Subquery);
  if (node.Cast) return cast(node.Cast);
  if (node.Case) return caseExpr(node.Case);
  if (node.Function) return ifFunction(node.Function);
  return UNKNOWN;
}

// Defends against conditions that read the row but answer the same for every row (issue 12 follow-up):
// `CASE WHEN id > 0 THEN 1 ELSE 1 END`, `IF(id > 0, 1, 1)` (every branch the same constant: the tests only choose
// between equal answers). Each deletes every row on MariaDB 10.11 (test/bypass/mysql-effect-cases.ts).

/** CASE whose every result (a missing ELSE is NULL) folds to the same value is that value. */
function caseExpr(c: Ast): Folded {
  const results: Ast[] = [...(c.conditions ?? []).map((w: Ast) => w?.result), c.else_result ?? { Value: { value: 'Null' } }];
  const values = results.map(fold);
  if (values.some((v) => v === UNKNOWN)) return UNKNOWN;
  return values.every((v) => v === values[0]) ? values[0]! : UNKNOWN;
}

/** The name of an unqualified built-in call and its plain arguments, or undefined. */
function builtinCall(f: Ast): { name: string; args: Ast[] } | undefined {
  const parts: Ast[] = f?.name ?? [];
  const list = f?.args?.List;
  if (parts.length !== 1 || !list || (list.clauses ?? []).length > 0) return undefined;
  const args: Ast[] = (list.args ?? []).map((a: Ast) => a?.Unnamed?.Expr);
  if (args.some((a) => a === undefined)) return undefined;
  return { name: String(parts[0]?.Identifier?.value ?? '').toUpperCase(), args };
}

/**
 * Defends against `WHERE COALESCE(v, 'x') IS NOT NULL` / `IFNULL(v, 1) IS NOT NULL` / `NOT ISNULL(CONCAT_WS('', v))`:
 * COALESCE and IFNULL with a non-null constant among their arguments, and CONCAT_WS with a non-null separator
 * (it skips NULL arguments), are never NULL whatever the row holds, so a null test of them is a constant.
 */
function neverNull(expr: Ast): boolean {
  while (expr?.Nested) expr = expr.Nested;
  const call = expr?.Function ? builtinCall(expr.Function) : undefined;
  if (!call) return false;
  const constant = (a: Ast): boolean => { const v = fold(a); return v !== UNKNOWN && v !== null; };
  if (call.name === 'COALESCE' || call.name === 'IFNULL') return call.args.some(constant);
  if (call.name === 'CONCAT_WS') return call.args.length > 0 && constant(call.args[0]);
  return false;
}

/**
 * IF(cond, a, b) with a and b the same constant, or with a constant cond; ISNULL(x) of a never-NULL x; COALESCE /
 * IFNULL / NVL whose first non-NULL argument is a constant (`WHERE COALESCE(1, id)` is `WHERE 1`).
 */
function ifFunction(f: Ast): Folded {
  const call = builtinCall(f);
  if (call?.name === 'ISNULL' && call.args.length === 1 && neverNull(call.args[0])) return 0;
  if (call?.name === 'CONCAT' && call.args.length > 0) {
    // CONCAT of constants is a constant (NULL if any is): `v LIKE CONCAT('%', '')` is `v LIKE '%'`
    let out = '';
    for (const a of call.args) {
      const v = fold(a);
      if (v === UNKNOWN) return UNKNOWN;
      if (v === null) return null;
      if (typeof v !== 'string' && typeof v !== 'number') return UNKNOWN;
      out += String(v);
    }
    return out;
  }
  if (call && (call.name === 'COALESCE' || call.name === 'IFNULL' || call.name === 'NVL')) {
    for (const a of call.args) {
      const v = fold(a);
      if (v === UNKNOWN) return UNKNOWN;
      if (v !== null) return v;
    }
    return null;
  }
  if (call?.name === 'IF' && call.args.length === 3) {
    const cond = truth(fold(call.args[0]));
    if (cond === true) return fold(call.args[1]);
    if (cond === false || cond === null) return fold(call.args[2]);
  }
  const parts: Ast[] = f.name ?? [];
  const name = String(parts[parts.length - 1]?.Identifier?.value ?? '').toUpperCase();
  const args: Ast[] = f.args?.List?.args ?? [];
  if (parts.length !== 1 || name !== 'IF' || args.length !== 3 || (f.args?.List?.clauses ?? []).length > 0) return UNKNOWN;
  const a = fold(args[1]?.Unnamed?.Expr);
  const b = fold(args[2]?.Unnamed?.Expr);
  return a !== UNKNOWN && a === b ? a : UNKNOWN;
}


function literal(v: Ast): Folded {
  if (v === 'Null') return null;
  if (typeof v !== 'object' || v === null) return UNKNOWN;
  // only integers JavaScript holds exactly: a decimal literal is an exact DECIMAL on the server (0.1 + 0.2 = 0.3 is
  // true there), so folding it in floating point could call a true condition false (issue 12, family d)
  if (v.Number) {
    const text = String(v.Number[0]);
    return /^\d+$/.test(text) && Number.isSafeInteger(Number(text)) ? Number(text) : UNKNOWN;
  }
  if (v.Boolean !== undefined) return v.Boolean ? 1 : 0;
  if (typeof v.SingleQuotedString === 'string') return v.SingleQuotedString;
  if (typeof v.DoubleQuotedString === 'string') return v.DoubleQuotedString;
  if (typeof v.NationalStringLiteral === 'string') return v.NationalStringLiteral;
  if (typeof v.HexStringLiteral === 'string') {
    // X'41' and 0x41 are binary strings; in a boolean context they are their numeric value
    // …but compared with a string they are that string (0x31 = '1' is true): their type depends on the context
    return UNKNOWN;
  }
  return UNKNOWN;
}

/** MySQL's string-to-number: the longest numeric prefix, 0 when there is none. */
function toNumber(v: Value): number | null {
  if (v === null) return null;
  if (typeof v === 'number') return v;
  const m = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/.exec(v);
  return m ? Number(m[0]) : 0;
}

/** SQL truth of a value: true, false, null (unknown), or undefined when not foldable. */
function truth(v: Folded): boolean | null | undefined {
  if (v === UNKNOWN) return undefined;
  if (v === null) return null;
  return toNumber(v) !== 0;
}

const bool = (b: boolean | null): Value => (b === null ? null : b ? 1 : 0);

function unary(op: string, expr: Ast): Folded {
  const v = fold(expr);
  if (v === UNKNOWN) return UNKNOWN;
  if (op === 'Not') { const t = truth(v); return t === undefined ? UNKNOWN : bool(t === null ? null : !t); }
  if (v === null) return null;
  const n = toNumber(v);
  if (op === 'Minus') return n === null ? null : -n;
  if (op === 'Plus') return v;
  return UNKNOWN;
}

const COMPARE: Record<string, true> = { Eq: true, NotEq: true, Lt: true, Gt: true, LtEq: true, GtEq: true, Spaceship: true };

function binaryExpr(b: Ast): Folded {
  const op: string = b.op;
  if (op === 'And' || op === 'Or' || op === 'Xor') return logical(op, b.left, b.right);
  if (COMPARE[op] && sameExpression(b.left, b.right)) {
    // `id = id` holds for every row whose id is not null: what an accidental full-table write looks like
    return op === 'Eq' || op === 'LtEq' || op === 'GtEq' || op === 'Spaceship' ? 1 : 0;
  }
  const l = fold(b.left);
  const r = fold(b.right);
  if (l === UNKNOWN || r === UNKNOWN) {
    // `x OR 1` is handled in logical(); here one unknown side makes the whole unknown, unless the row cannot change
    // the answer
    return rowInvariant(op, b.left, b.right, l, r);
  }
  if (op === 'Spaceship') return l === null || r === null ? bool(l === r) : compare('Eq', l, r);
  if (COMPARE[op]) return l === null || r === null ? null : compare(op, l, r);
  const a = toNumber(l);
  const c = toNumber(r);
  if (a === null || c === null) return null;
  // exact only while every operand and result is an integer JavaScript holds exactly; `/` is a DECIMAL division
  // on the server (with div_precision_increment digits): not folded
  if (!Number.isSafeInteger(a) || !Number.isSafeInteger(c)) return UNKNOWN;
  const exact = (x: number): Folded => (Number.isSafeInteger(x) ? x : UNKNOWN);
  switch (op) {
    case 'Plus': return exact(a + c);
    case 'Minus': return exact(a - c);
    case 'Multiply': return exact(a * c);
    case 'Divide': return opaqueDivide ? UNKNOWN : c === 0 ? null : UNKNOWN;
    case 'Modulo': return c === 0 ? null : exact(a % c);
    default: return UNKNOWN;
  }
}

/** Functions whose value is never negative (for a non-null argument). */
const NON_NEGATIVE = new Set(['ABS', 'LENGTH', 'CHAR_LENGTH', 'CHARACTER_LENGTH', 'OCTET_LENGTH', 'BIT_LENGTH']);

/**
 * Defends against arithmetic that reads the row but answers the same for every value (issue 12 follow-up):
 * `id - id = 0`, `id * 0 = 0`, and comparisons of a never-negative function with a bound below its
 * range (`ABS(id) >= 0`, `LENGTH(s) > -1`). Like `id = id`, these hold for every row whose columns are not null.
 * (`id % 1 = 0` is not among them: it narrows a DECIMAL column to its whole numbers.)
 */
function rowInvariant(op: string, left: Ast, right: Ast, l: Folded, r: Folded): Folded {
  const num = (v: Folded): number | null => (v === UNKNOWN || v === null ? null : toNumber(v));
  if (op === 'Minus' && sameExpression(left, right)) return 0;
  if (op === 'Multiply' && ((num(l) === 0 && isStable(right)) || (num(r) === 0 && isStable(left)))) return 0;
  if (!COMPARE[op]) return UNKNOWN;
  const nonNegative = (x: Ast): boolean => {
    const call = x?.Function ? builtinCall(x.Function) : undefined;
    return call !== undefined && NON_NEGATIVE.has(call.name) && isStable(x);
  };
  const mirrored: Record<string, string> = { Eq: 'Eq', NotEq: 'NotEq', Lt: 'Gt', Gt: 'Lt', LtEq: 'GtEq', GtEq: 'LtEq' };
  const [bound, o] = nonNegative(left) ? [num(r), op] : nonNegative(right) ? [num(l), mirrored[op]] : [null, op];
  if (bound === null || bound > 0) return UNKNOWN;
  switch (o) {
    case 'GtEq': return 1;
    case 'Gt': case 'NotEq': return bound < 0 ? 1 : UNKNOWN;
    case 'Lt': return 0;
    case 'LtEq': case 'Eq': return bound < 0 ? 0 : UNKNOWN;
    default: return UNKNOWN;
  }
}

function logical(op: string, left: Ast, right: Ast): Folded {
  const l = truth(fold(left));
  const r = truth(fold(right));
  if (op === 'Or') {
    if (l === true || r === true) return 1;
    if (complementary(left, right)) return 1; // `x OR NOT x`
    if (l === undefined || r === undefined) return UNKNOWN;
    return l === false && r === false ? 0 : null;
  }
  if (op === 'And') {
    if (l === false || r === false) return 0;
    if (l === undefined || r === undefined) return UNKNOWN;
    return l === true && r === true ? 1 : null;
  }
  // XOR: `x XOR NOT x`, `id = 1 XOR id <> 1` hold for every row where x is not NULL
  if (complementary(left, right)) return 1;
  if (l === undefined || r === undefined) return UNKNOWN;
  if (l === null || r === null) return null;
  return l !== r ? 1 : 0;
}

/** Comparison operators and their negations: `a = b` is false exactly where `a <> b` is true (both non-NULL). */
const NEGATED_COMPARISON: Record<string, string> = { Eq: 'NotEq', NotEq: 'Eq', Lt: 'GtEq', GtEq: 'Lt', Gt: 'LtEq', LtEq: 'Gt' };
/** The same comparison with its operands swapped: `a < b` is `b > a`. */
const MIRRORED_COMPARISON: Record<string, string> = { Eq: 'Eq', NotEq: 'NotEq', Lt: 'Gt', Gt: 'Lt', LtEq: 'GtEq', GtEq: 'LtEq' };

/** `x` and `NOT x`, or two comparisons of the same operands with opposite operators (`id = 1` / `id <> 1`, `1 > id`). */
function complementary(a: Ast, b: Ast): boolean {
  const strip = (x: Ast): Ast => { while (x?.Nested) x = x.Nested; return x; };
  a = strip(a);
  b = strip(b);
  const neg = (x: Ast, y: Ast): boolean => x?.UnaryOp?.op === 'Not' && sameExpression(strip(x.UnaryOp.expr), y);
  if (neg(a, b) || neg(b, a)) return true;
  const x = a?.BinaryOp;
  const y = b?.BinaryOp;
  if (!x || !y || !NEGATED_COMPARISON[x.op] || !NEGATED_COMPARISON[y.op]) return false;
  if (NEGATED_COMPARISON[x.op] === y.op && sameExpression(x.left, y.left) && sameExpression(x.right, y.right)) return true;
  return NEGATED_COMPARISON[x.op] === MIRRORED_COMPARISON[y.op] && sameExpression(x.left, y.right) && sameExpression(x.right, y.left);
}

/** Numbers compare as numbers; a number against a string compares numerically; strings case-insensitively. */
function compare(op: string, l: Value, r: Value): Folded {
  let a: number | string;
  let c: number | string;
  if (typeof l === 'string' && typeof r === 'string') {
    // default collations are case-insensitive and ignore trailing spaces: 'a' = 'A ' is true
    a = l.toLowerCase().replace(/ +$/, '');
    c = r.toLowerCase().replace(/ +$/, '');
    // beyond ASCII the collation decides ('ä' = 'a' under utf8mb4_general_ci), and order always follows it
    if (!/^[\x20-\x7e]*$/.test(a + c) || (op !== 'Eq' && op !== 'NotEq')) return UNKNOWN;
  } else {
    a = toNumber(l)!;
    c = toNumber(r)!;
    // a string against a number compares as DOUBLE: exact only for integers JavaScript holds
    if (!Number.isSafeInteger(a) || !Number.isSafeInteger(c)) return UNKNOWN;
  }
  switch (op) {
    case 'Eq': return bool(a === c);
    case 'NotEq': return bool(a !== c);
    case 'Lt': return bool(a < c);
    case 'Gt': return bool(a > c);
    case 'LtEq': return bool(a <= c);
    default: return bool(a >= c);
  }
}

function isNull(expr: Ast, wantNull: boolean): Folded {
  if (neverNull(expr)) return bool(!wantNull);
  const v = fold(expr);
  if (v === UNKNOWN) return UNKNOWN;
  return bool((v === null) === wantNull);
}

function inList(e: Ast): Folded {
  const items: Ast[] = e.list ?? [];
  if (!e.negated && items.some((i) => sameExpression(e.expr, i))) return 1;
  const l = fold(e.expr);
  if (l === UNKNOWN) return UNKNOWN;
  if (l === null) return null;
  let sawNull = false;
  for (const item of items) {
    const r = fold(item);
    if (r === UNKNOWN) return UNKNOWN;
    if (r === null) { sawNull = true; continue; }
    if (compare('Eq', l, r) === 1) return e.negated ? 0 : 1;
  }
  return sawNull ? null : e.negated ? 1 : 0;
}

function between(e: Ast): Folded {
  const v = fold(e.expr);
  const lo = fold(e.low);
  const hi = fold(e.high);
  if (v === UNKNOWN || lo === UNKNOWN || hi === UNKNOWN) return UNKNOWN;
  if (v === null || lo === null || hi === null) return null;
  const inside = compare('GtEq', v, lo) === 1 && compare('LtEq', v, hi) === 1;
  return bool(e.negated ? !inside : inside);
}

function like(e: Ast): Folded {
  const pattern = fold(e.pattern);
  // `col LIKE '%'` matches every non-null value, like `id = id`
  if (!e.negated && typeof pattern === 'string' && /^%+$/.test(pattern) && isStable(e.expr)) return 1;
  const v = fold(e.expr);
  if (v === UNKNOWN || pattern === UNKNOWN) return UNKNOWN;
  if (v === null || pattern === null) return null;
  const re = new RegExp(`^${likeToRegex(String(pattern))}$`, 'is');
  const hit = re.test(String(v));
  return bool(e.negated ? !hit : hit);
}

/**
 * Defends against `col REGEXP ''` (or '.*', '^', 'x*', 'a|'): REGEXP searches, so a pattern that can match the empty
 * string at the start matches every non-null value, like `col LIKE '%'`. Whether it does is tried on sample strings
 * with JavaScript's engine; where PCRE and JavaScript differ this can only over-block (a pattern JavaScript matches
 * on every sample is refused), and a pattern JavaScript cannot compile is left to the server's data.
 */
const REGEXP_SAMPLES = ['', 'a', 'Z9', ' ', '\n', 'abc xyz', '%_', 'é€', '\u0000', '0', '-1.5', 'NULL'];
function regexpMatch(e: Ast): Folded {
  const pattern = fold(e.pattern);
  if (e.negated || typeof pattern !== 'string' || !isStable(e.expr)) return UNKNOWN;
  let re: RegExp;
  try {
    re = new RegExp(pattern, 'su');
  } catch {
    return UNKNOWN;
  }
  return REGEXP_SAMPLES.every((x) => re.test(x)) ? 1 : UNKNOWN;
}

function exists(e: Ast): Folded {
  const sel = e.subquery?.body?.Select;
  // EXISTS (SELECT 1) always finds its one row
  if (!sel || (sel.from ?? []).length > 0 || sel.selection || sel.having || e.subquery.limit_clause) return UNKNOWN;
  return e.negated ? 0 : 1;
}

function scalarSubquery(q: Ast): Folded {
  const sel = q?.body?.Select;
  if (!sel || (sel.from ?? []).length > 0 || sel.selection || sel.having || q.limit_clause) return UNKNOWN;
  const items: Ast[] = sel.projection ?? [];
  if (items.length !== 1) return UNKNOWN;
  const item = items[0];
  return fold(item?.UnnamedExpr ?? item?.ExprWithAlias?.expr);
}

function cast(c: Ast): Folded {
  const v = fold(c.expr);
  if (v === UNKNOWN || v === null) return v;
  const t = typeof c.data_type === 'string' ? c.data_type : Object.keys(c.data_type ?? {})[0] ?? '';
  if (/^(Signed|Unsigned|Int|Integer|BigInt)/i.test(t)) { const n = toNumber(v); return n === null ? null : Math.trunc(n); }
  if (/^(Char|Varchar|Text|Binary|String)/i.test(t)) return String(v);
  return UNKNOWN;
}

/** Same AST (ignoring positions) and nothing volatile in it. */
function sameExpression(a: Ast, b: Ast): boolean {
  if (a === undefined || b === undefined) return false;
  return isStable(a) && shape(a) === shape(b);
}

function shape(node: Ast): string {
  return JSON.stringify(node, (k, v) => (k === 'span' ? undefined : v));
}

// RAND() = RAND() or (SELECT …) = (SELECT …) may differ between evaluations; LOWER(x) = LOWER(x) does not
const VOLATILE = new Set(['rand', 'uuid', 'uuid_short', 'sysdate', 'nextval', 'sleep', 'benchmark', 'connection_id', 'last_insert_id', 'row_count', 'found_rows']);

function isStable(node: Ast): boolean {
  if (Array.isArray(node)) return node.every(isStable);
  if (node === null || typeof node !== 'object') return true;
  if (node.Subquery || node.Exists || node.InSubquery) return false;
  if (node.Function) {
    const parts: Ast[] = node.Function.name ?? [];
    const base = String(parts[parts.length - 1]?.Identifier?.value ?? '').toLowerCase();
    if (VOLATILE.has(base)) return false;
  }
  // @var changes while the statement runs (`@i := @i + 1`)
  if (typeof node.Identifier?.value === 'string' && node.Identifier.value.startsWith('@')) return false;
  for (const key in node) if (!isStable(node[key])) return false;
  return true;
}
