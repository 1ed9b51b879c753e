// Constant folding of a PostgreSQL WHERE clause (libpg-query AST) to tell "scoped" from "touches every row".
import type { WhereStatus } from './facts.js';
import { likeToRegex } from './like-pattern.js';
import type { AstNode as Ast } from './ast.js';
import { Exact, arith, compare, fromInt, negate, parseExact, roundToInteger } from './exact-number.js';

// Defends against the classic guardrail bypass: `DELETE FROM t WHERE 1=1` or `WHERE id=id OR true`
// has a WHERE clause but still hits every row. Anything we cannot fold stays 'present': folding is
// a best effort that only ever adds blocks, it never hides a real WHERE.

// libpg-query's AST is JSON walked by node name; the generated union types do not help a generic walk
// numbers are exact decimals (exact-number.ts): a float mistake could fold a true condition to false.
// char(n) values are BpChar: trailing spaces do not count when they are compared or concatenated.
class BpChar {
  constructor(readonly s: string) {}
}
type Value = boolean | Exact | BpChar | string | null;
const UNKNOWN = Symbol('unknown');
type Folded = Value | typeof UNKNOWN;

export function whereStatus(where: Ast | undefined): WhereStatus {
  if (where === undefined || where === null) return 'absent';
  return toBool(fold(where)) === true ? 'always-true' : 'present';
}

/** Folds an expression node to a constant when it has one; exported for tests. */
export function foldConstant(node: Ast): Value | undefined {
  const v = fold(node);
  return v === UNKNOWN ? undefined : v;
}

function fold(node: Ast): Folded {
  if (node === null || typeof node !== 'object') return UNKNOWN;
  const type = Object.keys(node)[0];
  if (type === undefined) return UNKNOWN;
  const body = node[type];
  switch (type) {
    case 'A_Const': return constValue(body);
    case 'TypeCast': return cast(fold(body.arg), body.typeName);
    case 'BoolExpr': return boolExpr(body);
    case 'A_Expr': return aExpr(body);
    case 'NullTest': {
      // Defends against `WHERE coalesce(v, 'x') IS NOT NULL`: a COALESCE with a non-null constant among its
      // arguments is never NULL, whatever the row holds, so the test is a constant.
      const co = body.arg?.CoalesceExpr;
      if (co && (co.args ?? []).some((a: Ast) => { const c = fold(a); return c !== UNKNOWN && c !== null; })) {
        return body.nulltesttype === 'IS_NOT_NULL';
      }
      const v = fold(body.arg);
      if (v === UNKNOWN) return UNKNOWN;
      return body.nulltesttype === 'IS_NOT_NULL' ? v !== null : v === null;
    }
    case 'BooleanTest': return booleanTest(body);
    case 'SubLink': return subLink(body);
    case 'CaseExpr': {
      // Defends against `WHERE CASE WHEN id > 0 THEN true ELSE true END`: when every branch (a missing ELSE is NULL)
      // gives the same constant, the conditions only choose between equal answers, so the CASE is that constant
      // for every row, however much the conditions look at the row.
      const results: Ast[] = [...(body.args ?? []).map((w: Ast) => w?.CaseWhen?.result), body.defresult ?? { A_Const: { isnull: true } }];
      const values = results.map(fold);
      if (values.some((v) => v === UNKNOWN)) return UNKNOWN;
      return values.every((v) => v === values[0]) ? values[0]! : UNKNOWN;
    }
    case 'CoalesceExpr': {
      for (const arg of body.args ?? []) {
        const v = fold(arg);
        if (v === UNKNOWN) return UNKNOWN;
        if (v !== null) return v;
      }
      return null;
    }
    case 'FuncCall': {
      // concat() of constants is a constant (NULLs skipped): `v LIKE concat('%', '')` is `v LIKE '%'`
      const name = String(body.funcname?.[body.funcname.length - 1]?.String?.sval ?? '').toLowerCase();
      if (name !== 'concat' || body.funcname.length > 2 || body.agg_star || body.over) return UNKNOWN;
      let out = '';
      for (const arg of body.args ?? []) {
        const v = fold(arg);
        if (v === UNKNOWN) return UNKNOWN;
        if (v === null) continue;
        const t = typeof v === 'string' ? v : v instanceof BpChar ? v.s : v instanceof Exact ? v.toString() : typeof v === 'boolean' ? (v ? 't' : 'f') : undefined;
        if (t === undefined) return UNKNOWN;
        out += t;
      }
      return out;
    }
    default: return UNKNOWN;
  }
}

function constValue(c: Ast): Folded {
  if (c.isnull) return null;
  // libpg-query leaves out zero/false/empty members, so `{ival: {}}` is 0 and `{boolval: {}}` is false
  if (c.ival !== undefined) return fromInt(c.ival.ival ?? 0);
  // integer literals beyond int4 arrive as fval; an integer beyond int8 is numeric on the server
  if (c.fval !== undefined) return parseExact(String(c.fval.fval ?? '0')) ?? UNKNOWN;
  if (c.boolval !== undefined) return c.boolval.boolval ?? false;
  if (c.sval !== undefined) return c.sval.sval ?? '';
  return UNKNOWN;
}

const BOOL_TYPES = new Set(['bool', 'boolean']);
const INTEGER_TYPES = new Set(['int2', 'int4', 'int8', 'int', 'integer', 'smallint', 'bigint', 'oid']);
const DECIMAL_TYPES = new Set(['numeric', 'decimal']);
// float4/float8/real/double precision are binary floating point: not folded
const TEXT_TYPES = new Set(['text', 'varchar', 'name', 'character varying']);
const BPCHAR_TYPES = new Set(['bpchar', 'char', 'character']);

function cast(v: Folded, typeName: Ast): Folded {
  if (v === UNKNOWN || v === null) return v;
  if (typeName?.arrayBounds) return UNKNOWN;
  const names: Ast[] = typeName?.names ?? [];
  const t = String(names[names.length - 1]?.String?.sval ?? '').toLowerCase();
  if (BOOL_TYPES.has(t)) { const b = toBool(v); return b === undefined ? UNKNOWN : b; }
  const typmods: Ast[] = typeName?.typmods ?? [];
  const n = typmods.length === 1 ? typmods[0]?.A_Const?.ival?.ival : undefined;
  if (INTEGER_TYPES.has(t)) {
    const x = toNumber(v);
    return x === undefined ? UNKNOWN : roundToInteger(x) ?? UNKNOWN;
  }
  if (DECIMAL_TYPES.has(t)) {
    // numeric(p,s) rounds to its scale: not folded
    if (typmods.length > 0) return UNKNOWN;
    const x = toNumber(v);
    return x === undefined ? UNKNOWN : new Exact(x.value, x.scale, false);
  }
  const text = typeof v === 'boolean' ? (v ? 'true' : 'false') : v instanceof BpChar ? v.s : String(v);
  if (BPCHAR_TYPES.has(t)) {
    // char without a length is char(1); an explicit cast cuts to the length; trailing spaces never count
    if (typmods.length > 1 || (typmods.length === 1 && typeof n !== 'number')) return UNKNOWN;
    return new BpChar(cut(text, typeof n === 'number' ? n : 1).replace(/ +$/, ''));
  }
  if (TEXT_TYPES.has(t)) {
    if (typmods.length > 1 || (typmods.length === 1 && typeof n !== 'number')) return UNKNOWN;
    return typeof n === 'number' ? cut(text, n) : text;
  }
  return typeof v === 'boolean' || typeof v === 'string' ? v : UNKNOWN;
}

/** The first n characters (code points, as the server counts them). */
function cut(s: string, n: number): string {
  return [...s].slice(0, n).join('');
}

/** PostgreSQL's boolean input: t/true/y/yes/on/1 and f/false/n/no/off/0, unique prefixes allowed. */
function toBool(v: Folded): boolean | null | undefined {
  if (v === UNKNOWN) return undefined;
  if (v === null || typeof v === 'boolean') return v;
  if (v instanceof Exact) return undefined;
  const s = (v instanceof BpChar ? v.s : v).trim().toLowerCase();
  if (s === '') return undefined;
  if ('true'.startsWith(s) || 'yes'.startsWith(s) || s === 'on' || s === '1') return true;
  if ('false'.startsWith(s) || 'no'.startsWith(s) || s === 'off' || s === 'of' || s === '0') return false;
  return undefined;
}

function toNumber(v: Value): Exact | undefined {
  if (v instanceof Exact) return v;
  if (typeof v === 'string') return parseExact(v, false);
  return undefined;
}

function boolExpr(b: Ast): Folded {
  const args: Ast[] = b.args ?? [];
  if (b.boolop === 'NOT_EXPR') {
    const v = toBool(fold(args[0]));
    return v === undefined ? UNKNOWN : v === null ? null : !v;
  }
  const vals = args.map((a) => toBool(fold(a)));
  if (b.boolop === 'AND_EXPR') {
    if (vals.some((v) => v === false)) return false;
    if (vals.every((v) => v === true)) return true;
    return vals.some((v) => v === undefined) ? UNKNOWN : null;
  }
  if (vals.some((v) => v === true)) return true;
  if (hasComplementPair(args)) return true; // `x OR NOT x`
  if (vals.every((v) => v === false)) return false;
  return vals.some((v) => v === undefined) ? UNKNOWN : null;
}

function hasComplementPair(args: Ast[]): boolean {
  const negated = args.filter((a) => a?.BoolExpr?.boolop === 'NOT_EXPR' && isStable(a));
  if (negated.length === 0) return false;
  const keys = new Set(args.map(shape));
  return negated.some((a) => keys.has(shape(a.BoolExpr.args?.[0])));
}

const COMPARE = new Set(['=', '<>', '!=', '<', '>', '<=', '>=']);

function aExpr(e: Ast): Folded {
  const op = String(e.name?.[e.name.length - 1]?.String?.sval ?? '');
  switch (e.kind) {
    case 'AEXPR_OP': {
      if (e.lexpr === undefined) {
        const v = fold(e.rexpr);
        if (v === UNKNOWN || v === null) return v;
        const n = toNumber(v);
        if (n === undefined) return UNKNOWN;
        return op === '-' ? negate(n) ?? UNKNOWN : op === '+' ? n : UNKNOWN;
      }
      const l = fold(e.lexpr);
      const r = fold(e.rexpr);
      if (l !== UNKNOWN && r !== UNKNOWN) return binary(op, l, r);
      if (COMPARE.has(op) && sameExpression(e.lexpr, e.rexpr)) {
        // `id = id`: true for every row whose id is not null, which is what an accidental full-table write looks like
        return op === '=' || op === '<=' || op === '>=';
      }
      return rowInvariant(op, e.lexpr, e.rexpr, l, r);
    }
    case 'AEXPR_OP_ANY':
    case 'AEXPR_OP_ALL': {
      // Defends against `WHERE id <> ALL('{}')` / `id <> ALL(ARRAY[]::int[])`: ALL over an empty array is true for
      // every row (even a NULL id), ANY over one false; the column on the left narrows nothing.
      if (!emptyArray(e.rexpr)) return UNKNOWN;
      return e.kind === 'AEXPR_OP_ALL';
    }
    case 'AEXPR_IN': {
      const items: Ast[] = e.rexpr?.List?.items ?? (Array.isArray(e.rexpr) ? e.rexpr : []);
      const negate = op === '<>';
      if (!negate && items.some((i) => sameExpression(e.lexpr, i))) return true;
      const l = fold(e.lexpr);
      if (l === UNKNOWN) return UNKNOWN;
      let sawNull = false;
      for (const item of items) {
        const r = fold(item);
        if (r === UNKNOWN) return UNKNOWN;
        const eq = binary('=', l, r);
        if (eq === UNKNOWN) return UNKNOWN;
        if (eq === true) return !negate;
        if (eq === null) sawNull = true;
      }
      return sawNull ? null : negate;
    }
    case 'AEXPR_DISTINCT':
    case 'AEXPR_NOT_DISTINCT': {
      const distinct = e.kind === 'AEXPR_DISTINCT';
      if (sameExpression(e.lexpr, e.rexpr)) return !distinct;
      const l = fold(e.lexpr);
      const r = fold(e.rexpr);
      if (l === UNKNOWN || r === UNKNOWN) return UNKNOWN;
      const same = l === null || r === null ? l === r : binary('=', l, r);
      return same === UNKNOWN || same === null ? UNKNOWN : distinct ? !same : same;
    }
    case 'AEXPR_BETWEEN':
    case 'AEXPR_NOT_BETWEEN': {
      const bounds: Ast[] = e.rexpr?.List?.items ?? [];
      const v = fold(e.lexpr);
      const lo = fold(bounds[0]);
      const hi = fold(bounds[1]);
      if (v === UNKNOWN || lo === UNKNOWN || hi === UNKNOWN) return UNKNOWN;
      const a = toBool(binary('>=', v, lo));
      const b = toBool(binary('<=', v, hi));
      if (a === undefined || b === undefined) return UNKNOWN;
      if (a === null || b === null) return null;
      return e.kind === 'AEXPR_BETWEEN' ? a && b : !(a && b);
    }
    case 'AEXPR_LIKE':
    case 'AEXPR_ILIKE': {
      const l = fold(e.lexpr);
      const r = fold(e.rexpr);
      // LIKE on char(n) compares the padded value: not folded
      if (typeof l !== 'string' || typeof r !== 'string') return l === null || r === null ? null : UNKNOWN;
      const re = new RegExp(`^${likeToRegex(r)}$`, e.kind === 'AEXPR_ILIKE' ? 'is' : 's');
      const hit = re.test(l);
      return op.startsWith('!') ? !hit : hit;
    }
    default:
      return UNKNOWN;
  }
}

/** Functions whose value is never negative (for a non-null argument). */
const NON_NEGATIVE = new Set(['abs', 'length', 'char_length', 'character_length', 'octet_length', 'bit_length', 'cardinality']);

function nonNegative(node: Ast): boolean {
  const f = node?.FuncCall;
  const name = String(f?.funcname?.[f.funcname.length - 1]?.String?.sval ?? '').toLowerCase();
  return f !== undefined && NON_NEGATIVE.has(name) && isStable(node);
}

/**
 * Defends against arithmetic that reads the row but answers the same for every value (issue 12 follow-up):
 * `id - id = 0`, `id * 0 = 0` (each side folds although the row is read), and comparisons of a
 * never-negative function with a bound below its range (`abs(id) >= 0`, `length(v) > -1`, `length(v) <> -1`).
 * Like `id = id`, these hold for every row whose columns are not null. (`id % 1 = 0` is not among them: it narrows
 * a numeric column to its whole numbers.)
 */
function rowInvariant(op: string, lexpr: Ast, rexpr: Ast, l: Folded, r: Folded): Folded {
  const zero = fromInt(0);
  if (op === '-' && sameExpression(lexpr, rexpr)) return zero;
  if (op === '*' && ((l !== UNKNOWN && l !== null && toNumber(l)?.value === 0n && isStable(rexpr)) || (r !== UNKNOWN && r !== null && toNumber(r)?.value === 0n && isStable(lexpr)))) return zero;
  if (!COMPARE.has(op)) return UNKNOWN;
  // bound op f(x) is f(x) mirrored-op bound
  const mirrored: Record<string, string> = { '=': '=', '<>': '<>', '!=': '!=', '<': '>', '>': '<', '<=': '>=', '>=': '<=' };
  const [fn, bound, o] = nonNegative(lexpr) && r !== UNKNOWN ? [lexpr, r, op] : nonNegative(rexpr) && l !== UNKNOWN ? [rexpr, l, mirrored[op]!] : [undefined, undefined, op];
  if (fn === undefined || bound === null || bound === undefined) return UNKNOWN;
  const n = toNumber(bound as Value);
  if (!n) return UNKNOWN;
  const sign = n.value === 0n ? 0 : n.value < 0n ? -1 : 1;
  if (sign > 0) return UNKNOWN;
  // f(x) ≥ 0: compared with 0 or a negative bound
  switch (o) {
    case '>=': return true;
    case '>': return sign < 0 ? true : UNKNOWN;
    case '<>': case '!=': return sign < 0 ? true : UNKNOWN;
    case '<': return false;
    case '<=': return sign < 0 ? false : UNKNOWN;
    case '=': return sign < 0 ? false : UNKNOWN;
    default: return UNKNOWN;
  }
}

function binary(op: string, l: Value, r: Value): Folded {
  if (l === null || r === null) return null;
  if (op === '||') {
    const text = (v: Value): string | undefined => (typeof v === 'string' ? v : v instanceof BpChar ? v.s : v instanceof Exact ? v.toString() : undefined);
    const x = text(l);
    const y = text(r);
    return x !== undefined && y !== undefined && (typeof l === 'string' || typeof r === 'string' || l instanceof BpChar || r instanceof BpChar) ? `${x}${y}` : UNKNOWN;
  }
  if (['+', '-', '*', '/', '%'].includes(op)) {
    const a = toNumber(l);
    const b = toNumber(r);
    if (a === undefined || b === undefined) return UNKNOWN;
    return arith(op, a, b) ?? UNKNOWN;
  }
  if (!COMPARE.has(op)) return UNKNOWN;
  let a: boolean | number | string | Exact | BpChar = l;
  let b: boolean | number | string | Exact | BpChar = r;
  if (a instanceof BpChar || b instanceof BpChar) {
    // bpchar comparison: trailing spaces are insignificant on both sides
    const x = a instanceof BpChar ? a.s : typeof a === 'string' ? a.replace(/ +$/, '') : undefined;
    const y = b instanceof BpChar ? b.s : typeof b === 'string' ? b.replace(/ +$/, '') : undefined;
    if (x === undefined || y === undefined) return UNKNOWN;
    [a, b] = [x, y];
  }
  if (a instanceof Exact || b instanceof Exact) {
    // an untyped literal takes the other side's type, as PostgreSQL resolves `'1' = 1`
    const x = typeof a === 'boolean' ? undefined : toNumber(a as Value);
    const y = typeof b === 'boolean' ? undefined : toNumber(b as Value);
    if (x === undefined || y === undefined) return UNKNOWN;
    [a, b] = [compare(x, y), 0];
  } else if (typeof a !== typeof b) {
    const x = toBool(a as Value);
    const y = toBool(b as Value);
    if (typeof x !== 'boolean' || typeof y !== 'boolean') return UNKNOWN;
    [a, b] = [x, y];
  }
  // text order follows the database's collation ('a' < 'B' under en_US, not in code points): only equality folds
  if (typeof a === 'string' && op !== '=' && op !== '<>' && op !== '!=') return UNKNOWN;
  switch (op) {
    case '=': return a === b;
    case '<>': case '!=': return a !== b;
    case '<': return a < b;
    case '>': return a > b;
    case '<=': return a <= b;
    default: return a >= b;
  }
}

function booleanTest(b: Ast): Folded {
  const v = toBool(fold(b.arg));
  if (v === undefined) return UNKNOWN;
  switch (b.booltesttype) {
    case 'IS_TRUE': return v === true;
    case 'IS_NOT_TRUE': return v !== true;
    case 'IS_FALSE': return v === false;
    case 'IS_NOT_FALSE': return v !== false;
    case 'IS_UNKNOWN': return v === null;
    case 'IS_NOT_UNKNOWN': return v !== null;
    default: return UNKNOWN;
  }
}

/** `ARRAY[]`, `ARRAY[]::int[]`, `'{}'::int[]`, `'{}'`: an array constant without elements. */
function emptyArray(node: Ast): boolean {
  const arg = node?.TypeCast ? node.TypeCast.arg : node;
  if (arg?.A_ArrayExpr) return (arg.A_ArrayExpr.elements ?? []).length === 0;
  const text = arg?.A_Const?.sval;
  return text !== undefined && /^\s*\{\s*\}\s*$/.test(String(text.sval ?? ''));
}

function subLink(s: Ast): Folded {
  const sel = s.subselect?.SelectStmt;
  if (!sel || sel.fromClause || sel.whereClause || sel.havingClause || sel.limitCount || sel.groupClause || sel.op !== 'SETOP_NONE') {
    return UNKNOWN;
  }
  // EXISTS (SELECT 1) / EXISTS (VALUES (1)) always finds its one row
  if (s.subLinkType === 'EXISTS_SUBLINK') return true;
  if (s.subLinkType === 'EXPR_SUBLINK' && sel.targetList?.length === 1) return fold(sel.targetList[0]?.ResTarget?.val);
  return UNKNOWN;
}

/** Two sides are the same expression when their ASTs match ignoring positions and hold nothing volatile. */
function sameExpression(a: Ast, b: Ast): boolean {
  if (a === undefined || b === undefined) return false;
  return isStable(a) && shape(a) === shape(b);
}

function shape(node: Ast): string {
  return JSON.stringify(node, (k, v) => (k === 'location' ? undefined : v));
}

// random() = random() or (SELECT …) = (SELECT …) may differ between evaluations; lower(x) = lower(x) does not
const VOLATILE = new Set(['random', 'random_normal', 'clock_timestamp', 'timeofday', 'nextval', 'setval', 'gen_random_uuid',
  'uuid_generate_v1', 'uuid_generate_v1mc', 'uuid_generate_v4', 'uuidv4', 'uuidv7', 'setseed', 'txid_current']);

function isStable(node: Ast): boolean {
  if (Array.isArray(node)) return node.every(isStable);
  if (node === null || typeof node !== 'object') return true;
  for (const key in node) {
    const v = node[key];
    if (key === 'SubLink') return false;
    if (key === 'FuncCall') {
      const names: Ast[] = v?.funcname ?? [];
      const base = String(names[names.length - 1]?.String?.sval ?? '').toLowerCase();
      if (VOLATILE.has(base)) return false;
    }
    if (!isStable(v)) return false;
  }
  return true;
}
