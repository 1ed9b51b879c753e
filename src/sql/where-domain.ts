// One dialect-neutral check of the always-true WHERE families (issue 12, family c): an OR whose disjuncts hold a
// condition and its negation (`x IS NULL OR x IS NOT NULL`, `x = k OR x <> k`, `x < k OR x >= k`, …) narrows
// nothing. Each dialect's scope reader turns a disjunct into polarity keys; this compares them.

/** A condition's identity (same key: the same test) and whether this disjunct is its negation. */
export interface Polarity {
  key: string;
  neg: boolean;
}

/** The reason an OR holding a condition and its negation is not a scope, or undefined. */
export function coversDomain<T>(parts: readonly T[], polarity: (part: T) => Polarity[]): string | undefined {
  const seen = new Map<string, Set<boolean>>();
  for (const part of parts) {
    for (const p of polarity(part)) {
      const s = seen.get(p.key) ?? new Set<boolean>();
      s.add(p.neg);
      seen.set(p.key, s);
      if (s.size === 2) return 'the OR holds a condition and its negation: true for every row';
    }
  }
  return undefined;
}

/**
 * Whether a condition narrows the target: `why` undefined when it does; otherwise it is not proven scoped unless,
 * for one of the column sets in `ifNullable`, every column is known to be nullable (family c: `col IS NOT NULL`
 * holds for every row of a NOT NULL column, so only the catalog can show that it narrows). Without that knowledge
 * the condition is not proven scoped (fail closed).
 */
export interface ScopeVerdict {
  why?: string;
  /** alternatives (any one suffices), each a set of target columns that must all be nullable */
  ifNullable?: string[][];
}


/**
 * What a null test of an expression shows about the rows (family c, null tests through functions):
 * - `cols`: the expression is NULL exactly when one of these target columns is (`lower(v)`, `id + 0`, `v || 'x'`,
 *   `(v = 'a')`): its null test is the columns' own, true for every row when they are declared NOT NULL;
 * - `never`: never NULL (`concat(v)`, `concat_ws(',', v)`): IS NOT NULL holds for every row;
 * - `always`: always NULL (`v || NULL`): IS NULL holds for every row;
 * - `value`: NULL for some values only (`data ->> 'k'`, `nullif(v, '')`, unknown functions): a real filter.
 */
export type Nullness = { cols: Set<string> } | 'never' | 'always' | 'value';

/** Combines the operands of an expression that is NULL exactly when one of its operands is. */
export function preservingAll(parts: readonly Nullness[]): Nullness {
  const cols = new Set<string>();
  let value = false;
  for (const p of parts) {
    if (p === 'always') return 'always';
    if (p === 'value') value = true;
    else if (p !== 'never') for (const c of p.cols) cols.add(c);
  }
  return value ? 'value' : { cols };
}

/**
 * Built-in functions (both dialects, lower-case) that return NULL exactly when an argument is NULL and never for
 * non-null arguments. Only functions whose every argument is a value (not a pattern that may fail to match).
 */
export const NULL_PRESERVING_FUNCTIONS = new Set([
  'lower', 'upper', 'lcase', 'ucase', 'length', 'char_length', 'character_length', 'octet_length', 'bit_length',
  'md5', 'sha1', 'sha', 'sha224', 'sha256', 'sha384', 'sha512', 'btrim', 'ltrim', 'rtrim', 'trim', 'initcap',
  'reverse', 'ascii', 'hex', 'quote_literal', 'abs', 'ceil', 'ceiling', 'floor', 'round', 'trunc', 'truncate', 'sign',
  'left', 'right', 'repeat', 'replace', 'translate', 'substr', 'strpos', 'to_hex', 'crc32',
  'soundex', 'space',
]);
