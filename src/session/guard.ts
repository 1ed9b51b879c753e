// Guard: the decision function for one evaluation context (target, access, groups, rules version),
// with an LRU of decisions keyed by statement text so repeated statements cost no parse. Both caches are bounded
// by entries and by bytes (a client sending distinct multi-megabyte statements must not grow the broker).
import type { Metrics } from '../metrics/metrics.js';
import { analyze } from '../sql/analyze.js';
import type { ReadOptions, StatementFacts } from '../sql/facts.js';
import { LruCache } from '../sql/statement-cache.js';
import { literalIndependent, pgShapeKey } from '../sql/pg-shape.js';
import { mysqlLiteralIndependent, mysqlShapeKey } from '../sql/mysql-shape.js';
import { evaluate } from '../rules/evaluate.js';
import { columnMasks, type ColumnMask } from '../rules/mask.js';
import type { RuleSet } from '../rules/rule-set.js';
import type { Decision, EvalContext } from '../rules/types.js';

/** Entries and estimated bytes each of a Guard's two caches may hold; entries 0 disables caching. */
export interface CacheLimits {
  entries: number;
  bytes: number;
}

const DEFAULT_CACHE_BYTES = 32 << 20;

function cacheLimits(c: number | CacheLimits): CacheLimits {
  return typeof c === 'number' ? { entries: c, bytes: DEFAULT_CACHE_BYTES } : c;
}

export class Guard {
  private readonly cache: LruCache<Decision>;
  /** decisions shared by literal-only variants of a text (see sql/pg-shape.ts) */
  private readonly shapes: LruCache<Decision>;
  /** column masks in force for this context; empty means result rows are never inspected */
  readonly masks: ColumnMask[];
  /** the mask rules' `clean` globs (views and functions an administrator trusts), computed once per rule set */
  readonly clean: readonly string[];
  /** some rule of this context carries a row limit (maxRows/maxFraction): protocol modules then run the row guard */
  readonly hasRowLimits: boolean;

  constructor(
    readonly ctx: EvalContext,
    private readonly rulesets: RuleSet[],
    cacheSize: number | CacheLimits,
    private readonly metrics?: Metrics,
  ) {
    const { entries, bytes } = cacheLimits(cacheSize);
    this.cache = new LruCache<Decision>(entries, bytes);
    this.shapes = new LruCache<Decision>(entries, bytes);
    this.masks = columnMasks(rulesets, ctx);
    this.clean = [...new Set(this.masks.flatMap((m) => m.clean ?? []))];
    this.hasRowLimits = rulesets.some((set) => set.rules.some((r) => (r.maxRows !== undefined || r.maxFraction !== undefined) &&
      (!r.when.access || r.when.access.includes(ctx.access)) && (!r.when.targets || r.when.targets.some((t) => t === '*' || t === ctx.target || t.includes('*')))));
  }

  /** set while a decision is made ahead of the statement's own (decideAhead): not counted */
  private quiet = false;
  /** the decision last made ahead: the statement's own decision that follows takes it (no second lookup) */
  private ahead: { text: string; key: string; d: Decision; miss: boolean } | undefined;

  /**
   * The decision `text` will get, made before the statement's own (a read grant's function check reads its calls
   * first). /metrics counts one decision per statement: this one is not counted, and the statement's own decision
   * that follows counts as the miss this one was (or the hit).
   */
  decideAhead(text: string, opts?: ReadOptions): Decision {
    const key = opts ? readKey(opts) : '';
    const misses = this.missCount;
    this.quiet = true;
    try {
      const d = this.decide(text, opts);
      this.ahead = { text, key, d, miss: this.missCount !== misses };
      return d;
    } finally {
      this.quiet = false;
    }
  }

  /** analyses run so far (decideAhead tells a miss from a hit by it) */
  private missCount = 0;

  /** Synchronous: cache → parse → facts → rules. Never throws on client text. */
  decide(text: string, opts?: ReadOptions): Decision {
    // the same text can read differently under other session settings: those get their own cache slots
    // texts too large to be kept are never cached whole (see decideLarge)
    const ahead = this.ahead;
    if (ahead && !this.quiet) {
      this.ahead = undefined;
      if (ahead.text === text && ahead.key === (opts ? readKey(opts) : '')) {
        if (ahead.miss) this.metrics?.statementCacheMisses.inc();
        else this.metrics?.statementCacheHits.inc();
        return ahead.d;
      }
    }
    if (text.length * 2 >= this.cache.maxEntryBytes) return this.decideLarge(text, opts);
    const key = opts ? readKey(opts) + text : text;
    const hit = this.cache.get(key);
    if (hit) {
      if (!this.quiet) this.metrics?.statementCacheHits.inc();
      return hit;
    }
    // texts that differ only in inlined literals share a decision when the facts cannot depend on them (MySQL: keyed
    // by the reading settings too); a shape hit is not copied into the exact cache (one entry per literal would
    // only churn it)
    const shape = this.shapeKey(text, opts);
    const byShape = shape !== undefined ? this.shapes.get(shape) : undefined;
    if (byShape) {
      if (!this.quiet) this.metrics?.statementCacheHits.inc();
      return byShape;
    }
    const decision = this.analyzeAndEvaluate(text, opts);
    const bytes = decisionBytes(decision);
    this.cache.set(key, decision, bytes);
    if (shape !== undefined && this.shareable(decision.statements)) this.shapes.set(shape, decision, bytes);
    return decision;
  }

  /**
   * A text too large to cache whole (megabytes of inlined literal, e.g. a bulk INSERT or a big string): decided by
   * its shape when that is small, so distinct large texts of one shape cost one linear scan instead of a parse each
   * (a client sending many distinct 8 MiB statements kept the broker parsing for seconds apiece). The shared decision
   * keeps no statement text (facts.text of the first would pin megabytes); readers fall back to the text at hand.
   */
  private decideLarge(text: string, opts: ReadOptions | undefined): Decision {
    const shape = this.shapeKey(text, opts);
    const small = shape !== undefined && shape.length * 2 < this.shapes.maxEntryBytes;
    const byShape = small ? this.shapes.get(shape) : undefined;
    if (byShape) {
      if (!this.quiet) this.metrics?.statementCacheHits.inc();
      return byShape;
    }
    const decision = this.analyzeAndEvaluate(text, opts);
    if (small && this.shareable(decision.statements)) {
      const lean: Decision = { ...decision, statements: decision.statements.map(({ text: _text, ...f }) => f) };
      this.shapes.set(shape, lean, decisionBytes(lean));
    }
    return decision;
  }

  private shareable(statements: StatementFacts[]): boolean {
    return this.ctx.dialect === 'postgres' ? literalIndependent(statements) : mysqlLiteralIndependent(statements);
  }

  private analyzeAndEvaluate(text: string, opts: ReadOptions | undefined): Decision {
    this.missCount++;
    if (!this.quiet) this.metrics?.statementCacheMisses.inc();
    const t0 = process.hrtime.bigint();
    const statements = analyze(this.ctx.dialect, text, opts);
    const decision = evaluate(this.rulesets, statements, this.ctx);
    this.metrics?.statementCheckSeconds.observe({ dialect: this.ctx.dialect }, Number(process.hrtime.bigint() - t0) / 1e9);
    if (statements.some((s) => s.kind === 'unparsed')) this.metrics?.parseFailures.inc({ dialect: this.ctx.dialect });
    return decision;
  }

  private shapeKey(text: string, opts: ReadOptions | undefined): string | undefined {
    if (this.ctx.dialect === 'postgres') return opts ? undefined : pgShapeKey(text);
    const shape = mysqlShapeKey(text);
    return shape === undefined ? undefined : (opts ? readKey(opts) : '') + shape;
  }

  /** What the two caches hold now (entries and estimated bytes), for metrics and tests. */
  get cached(): { entries: number; bytes: number } {
    return { entries: this.cache.size + this.shapes.size, bytes: this.cache.bytes + this.shapes.bytes };
  }

  /** Evaluates facts built by a protocol module (no text to parse, nothing cached). */
  evaluateFacts(statements: StatementFacts[]): Decision {
    return evaluate(this.rulesets, statements, this.ctx);
  }
}

/**
 * Estimated retained size of a decision: the statement texts and parser errors it carries (facts keep the source
 * text for the audit) plus a little for every name. An estimate is enough: it only has to grow with the input.
 */
function decisionBytes(d: Decision): number {
  let n = 256;
  for (const f of d.statements) {
    n += 256 + 2 * ((f.text?.length ?? 0) + (f.error?.length ?? 0));
    for (const list of [f.columns, f.functions, f.predicates ?? [], f.copies ?? []]) for (const x of list) n += 48 + 2 * x.length;
    n += f.tables.length * 160;
  }
  for (const r of d.rules) n += 96 + 2 * (r.message?.length ?? 0);
  return n;
}

/** A cache-key prefix for the reading settings in force (empty for PostgreSQL's defaults). */
function readKey(o: ReadOptions): string {
  // unknown (undefined) differs from false: the MySQL reader then checks every reading, a stricter decision
  const tri = (v: boolean | undefined, c: string) => (v === undefined ? '' : v ? c.toUpperCase() : c);
  const k = `${o.standardConformingStrings === false ? 's' : ''}${tri(o.ansiQuotes, 'a')}${tri(o.noBackslashEscapes, 'b')}${tri(o.mariadb, 'm')}${tri(o.relaxedSqlMode, 'r')}${o.serverVersion ?? ''}`;
  return k ? `\u0000${k}\u0000` : '';
}

/** Shares one Guard per evaluation context; a rules reload replaces the pool's rule sets and version. */
export class GuardPool {
  private guards = new Map<string, Guard>();
  version = 1;

  constructor(
    private rulesetsFor: (target: string) => RuleSet[],
    private readonly cacheSize: number | CacheLimits,
    private readonly metrics?: Metrics,
  ) {}

  get(ctx: EvalContext): Guard {
    const key = `${ctx.dialect}|${ctx.target}|${ctx.access}|${[...ctx.groups].sort().join(',')}`;
    let g = this.guards.get(key);
    if (!g) {
      g = new Guard(ctx, this.rulesetsFor(ctx.target), this.cacheSize, this.metrics);
      this.guards.set(key, g);
    }
    return g;
  }

  reload(rulesetsFor: (target: string) => RuleSet[]): void {
    this.rulesetsFor = rulesetsFor;
    this.guards = new Map();
    this.version++;
  }
}
