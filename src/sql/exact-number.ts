// Exact decimal numbers for constant folding of WHERE clauses: the server's arithmetic, never JavaScript floats.

// Defends against conditions the folder would call false while the server finds them true (issue 12, family d):
// `WHERE 0.1 + 0.2 = 0.3` is true on both servers (exact decimals) but false in binary floating point, and
// `9007199254740993 = 9007199254740992` is false on the server but true for JavaScript numbers. A folded false
// means "touches no row", so every inexact step must give up (undefined = not evaluable = not proven scoped).

/** value × 10^-scale; `integer` marks an integer-typed value (integer division truncates). */
export class Exact {
  constructor(readonly value: bigint, readonly scale: number, readonly integer: boolean) {}

  toString(): string {
    const neg = this.value < 0n;
    let digits = (neg ? -this.value : this.value).toString();
    if (this.scale > 0) {
      digits = digits.padStart(this.scale + 1, '0');
      digits = `${digits.slice(0, -this.scale)}.${digits.slice(-this.scale)}`;
    }
    return neg ? `-${digits}` : digits;
  }

  isZero(): boolean {
    return this.value === 0n;
  }
}

const INT8_MIN = -(2n ** 63n);
const INT8_MAX = 2n ** 63n - 1n;
/** Scales beyond this are not folded (the server's own limits and rounding take over there). */
const MAX_SCALE = 1000;

/** A decimal literal (`12`, `-1.50`, `1e3`, `.5`) exactly; undefined for anything else (hex, inf, nan, spaces inside). */
export function parseExact(text: string, integerTyped?: boolean): Exact | undefined {
  const m = /^\s*([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d{1,4}))?\s*$/.exec(text);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return undefined;
  const frac = m[3] ?? '';
  let scale = frac.length - Number(m[4] ?? 0);
  let value = BigInt(`${m[2] || '0'}${frac}`);
  if (scale < 0) {
    value *= 10n ** BigInt(-scale);
    scale = 0;
  }
  if (scale > MAX_SCALE) return undefined;
  if (m[1] === '-') value = -value;
  const integer = integerTyped ?? (m[3] === undefined && m[4] === undefined);
  return new Exact(value, scale, integer);
}

export function fromInt(n: number): Exact {
  return new Exact(BigInt(n), 0, true);
}

function align(a: Exact, b: Exact): [bigint, bigint, number] {
  const s = Math.max(a.scale, b.scale);
  return [a.value * 10n ** BigInt(s - a.scale), b.value * 10n ** BigInt(s - b.scale), s];
}

/** Integer results outside int8 are an overflow error (or a type change) on the server: not folded. */
function checked(r: Exact): Exact | undefined {
  if (r.integer && (r.value < INT8_MIN || r.value > INT8_MAX)) return undefined;
  return r.scale > MAX_SCALE ? undefined : r;
}

export function compare(a: Exact, b: Exact): number {
  const [x, y] = align(a, b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * `+ - * / %` as PostgreSQL and MySQL agree on them for exact operands: sums and products exact; `/` and `%` only
 * between integers (PostgreSQL truncates toward zero; MySQL's `/` is not integer division, so it passes
 * `intDivision: false` and gets undefined); a decimal division has server-specific rounding and is not folded.
 */
export function arith(op: string, a: Exact, b: Exact, intDivision = true): Exact | undefined {
  const integer = a.integer && b.integer;
  switch (op) {
    case '+': case '-': {
      const [x, y, s] = align(a, b);
      return checked(new Exact(op === '+' ? x + y : x - y, s, integer));
    }
    case '*':
      return checked(new Exact(a.value * b.value, a.scale + b.scale, integer));
    case '/': case '%':
      if (!integer || !intDivision || b.value === 0n || a.scale !== 0 || b.scale !== 0) return undefined;
      // BigInt division truncates toward zero and the remainder takes the dividend's sign, as in PostgreSQL
      return checked(new Exact(op === '/' ? a.value / b.value : a.value % b.value, 0, true));
    default:
      return undefined;
  }
}

export function negate(a: Exact): Exact | undefined {
  return checked(new Exact(-a.value, a.scale, a.integer));
}

/** Rounds half away from zero to an integer (PostgreSQL's numeric → integer cast). */
export function roundToInteger(a: Exact): Exact | undefined {
  if (a.scale === 0) return checked(new Exact(a.value, 0, true));
  const unit = 10n ** BigInt(a.scale);
  const half = unit / 2n;
  const abs = a.value < 0n ? -a.value : a.value;
  let q = abs / unit;
  if (abs % unit >= half) q += 1n;
  return checked(new Exact(a.value < 0n ? -q : q, 0, true));
}
