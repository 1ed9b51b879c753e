// Mask plans (session/mask-plan.ts) kept per statement text, or shared by every text of one literal-free shape, so that
// the simple protocol's stream of `… WHERE aid = 17` / `… WHERE aid = 18` costs one libpg-query parse, not one each.
//
// Security: a cached outcome may only be reused where computing it afresh gives the same outcome. What the lineage
// outcome (mask-plan.ts lineageOutcome) reads, and how each is covered by the key or kept out of the cache:
// - the text's parse tree: the key is the exact text, or its typed literal shape (sql/pg-shape.ts pgLiteralShape),
//   under which two texts parse to the same tree apart from constant values; lineage never reads a constant's
//   value (pg-lineage.ts reads identifiers, node kinds and option names only), so their lineage is the same;
// - the lineage schema: the key holds the identity of the SchemaSnapshot object (immutable: a new catalog read,
//   another set of `clean` globs or the session's own DDL gives another object); any other schema object (the
//   distrusted schema after DDL is a fresh object per call) is not cached;
// - the session's masks: the key holds the identity of the guard's masks array (a rules reload makes new guards);
// - the reading options: part of the key (and with options, only exact texts are keyed, as the guard does);
// - session state (the plans of open cursors, read by FETCH/MOVE): outcomes of texts that FETCH are never stored;
// - the decision's facts (PL/pgSQL bodies of DO and CREATE FUNCTION are read from them): planMasks neither looks
//   up nor stores texts with DO or CREATE statements.
import type { ColumnMask } from '../rules/mask.js';
import type { ReadOptions } from '../sql/facts.js';
import { pgLiteralShape } from '../sql/pg-shape.js';
import { LruCache } from '../sql/statement-cache.js';
import type { MaskPlan } from './mask-plan.js';

/** What lineage makes of a text under given masks: a refusal by rules, or a plan and the rules it applies. */
export type MaskOutcome =
  | { readonly refuse: readonly ColumnMask[]; readonly suffix?: string }
  | { readonly plan: MaskPlan; readonly used: readonly ColumnMask[] };

const ids = new WeakMap<object, number>();
let nextId = 1;
/** A number for an object's identity (its key part); the object itself is not kept alive by it. */
function idOf(o: object): number {
  let id = ids.get(o);
  if (id === undefined) ids.set(o, (id = nextId++));
  return id;
}

export class MaskPlanCache {
  private readonly lru: LruCache<MaskOutcome>;
  hits = 0;
  misses = 0;

  /** Bounded by entries and bytes like the guard's caches: distinct large texts cannot grow the broker. */
  constructor(entries: number, bytes: number) {
    this.lru = new LruCache<MaskOutcome>(entries, bytes);
  }

  /** The key of `text` under these masks, schema and reading options; undefined when it is not to be cached. */
  key(text: string, masks: readonly ColumnMask[], schema: object, opts: ReadOptions | undefined): string | undefined {
    // with non-default reading options (standard_conforming_strings off) no shape is trusted, as in the guard
    const shape = opts ? undefined : pgLiteralShape(text);
    const body = shape !== undefined ? shape : text;
    // checked before building the key: a multi-megabyte text is never copied into one
    if (body.length * 2 + 256 > this.lru.maxEntryBytes) return undefined;
    return `${idOf(masks)}:${idOf(schema)}:${opts ? JSON.stringify(opts) : ''}${shape !== undefined ? '\u0001' : '\u0000'}${body}`;
  }

  get(key: string): MaskOutcome | undefined {
    const hit = this.lru.get(key);
    if (hit) this.hits++;
    else this.misses++;
    return hit;
  }

  set(key: string, outcome: MaskOutcome): void {
    this.lru.set(key, freeze(outcome), outcomeBytes(outcome));
  }

  get size(): number {
    return this.lru.size;
  }

  clear(): void {
    this.lru.clear();
  }
}

/** Shared by every session: keys carry the schema and masks identities, so sessions that differ never share. */
export const maskPlanCache = new MaskPlanCache(4096, 8 << 20);

/** A shared outcome is frozen: a protocol module changing a decision's plan must not change other statements'. */
function freeze(o: MaskOutcome): MaskOutcome {
  if ('plan' in o) {
    if (o.plan.outputs) Object.freeze(o.plan.outputs);
    for (const op of o.plan.cursors ?? []) {
      if (op.declare) {
        if (op.declare.plan.outputs) Object.freeze(op.declare.plan.outputs);
        Object.freeze(op.declare.plan);
        Object.freeze(op.declare);
      }
      Object.freeze(op);
    }
    if (o.plan.cursors) Object.freeze(o.plan.cursors);
    Object.freeze(o.plan);
    Object.freeze(o.used);
  } else {
    Object.freeze(o.refuse);
  }
  return Object.freeze(o);
}

function outcomeBytes(o: MaskOutcome): number {
  if (!('plan' in o)) return 128 + 8 * o.refuse.length;
  let n = 192 + 8 * (o.plan.outputs?.length ?? 0) + 8 * o.used.length;
  for (const op of o.plan.cursors ?? []) n += 160 + 2 * ((op.declare?.name ?? op.close ?? '').length) + 8 * (op.declare?.plan.outputs?.length ?? 0);
  return n;
}
