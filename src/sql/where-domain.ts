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

