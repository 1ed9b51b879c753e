// A snapshot of a PostgreSQL database's relations, views and functions as column lineage needs them
// (sql/pg-lineage.ts): views and SQL function bodies traced to base columns on first use, memoised.
import { UNKNOWN, bodyLineage, functionBodyStatements, statementLineage, viewQuery, type LineageFunction, type LineageRelation, type LineageSchema, type Src } from '../sql/pg-lineage.js';
import { matchName } from '../rules/glob.js';

export interface RelRow {
  schema: string;
  name: string;
  kind: string;
  columns: string[];
  system: boolean;
  view?: string;
}
export interface FnRow {
  schema: string;
  name: string;
  language: string;
  definition?: string;
}

export const SYSTEM_SCHEMAS = new Set(['pg_catalog', 'information_schema']);

/** One read of the catalog; lineage of views and functions is computed lazily and memoised. */
export class SchemaSnapshot implements LineageSchema {
  private readonly relations = new Map<string, RelRow[]>();
  private readonly functions = new Map<string, FnRow[]>();
  private readonly viewMemo = new Map<RelRow, Src[]>();
  private readonly fnMemo = new Map<FnRow, LineageFunction | undefined>();
  private readonly resolving = new Set<object>();

  constructor(
    rels: RelRow[],
    fns: FnRow[],
    private readonly builtins: Set<string>,
    /** schema.name globs the rule files mark as clean (their output never carries a masked value) */
    private readonly clean: readonly string[],
    readonly startedAt: number,
    /** operator names defined outside the system schemas */
    private readonly userOperators: ReadonlySet<string> = new Set(),
    /** type names: those of the system schemas (builtin) and the rest (user types: domains, composites, enums, base types) */
    private readonly types: { builtin: ReadonlySet<string>; user: ReadonlySet<string> } | null = null,
  ) {
    for (const r of rels) this.relations.set(r.name, [...(this.relations.get(r.name) ?? []), r]);
    for (const f of fns) this.functions.set(f.name, [...(this.functions.get(f.name) ?? []), f]);
  }

  withClean(clean: readonly string[]): SchemaSnapshot {
    if (clean === this.clean || (clean.length === 0 && this.clean.length === 0)) return this;
    return new SchemaSnapshot([...this.relations.values()].flat(), [...this.functions.values()].flat(), this.builtins, clean, this.startedAt, this.userOperators, this.types);
  }

  /** A cast to this type may run user code (a domain CHECK, a user cast or input function); unknown names count. */
  userType(schema: string | null, name: string): boolean {
    if (!this.types) return false;
    if (schema !== null && SYSTEM_SCHEMAS.has(schema)) return false;
    return this.types.user.has(name) || !this.types.builtin.has(name);
  }

  builtinOperator(name: string): boolean {
    return !this.userOperators.has(name);
  }

  private isClean(schema: string, name: string): boolean {
    return this.clean.some((p) => matchName(p, `${schema}.${name}`));
  }

  /**
   * While the session's own DDL is not in a snapshot yet: no relation or user function is known (all lineage unknown),
   * but the builtins still are, so that a call to a routine of the session's own making (`CREATE FUNCTION f(x) …
   * plpgsql` storing x, then `SELECT f(email)` in the same transaction block) counts as untraceable, not as a builtin.
   */
  untrusted(): LineageSchema {
    return {
      relation: () => undefined,
      func: (schema, name) => ((schema === null || SYSTEM_SCHEMAS.has(schema)) && this.builtins.has(name) && !this.functions.has(name) ? { kind: 'builtin' } : undefined),
      userType: (schema, name) => this.userType(schema, name),
    };
  }

  relation(schema: string | null, name: string): LineageRelation | undefined {
    const all = this.relations.get(name) ?? [];
    // unqualified: any schema on a search path could be meant (temporary tables shadow everything)
    const rows = schema === null ? all : all.filter((r) => r.schema === schema);
    if (!rows.length) return undefined;
    const rels = rows.map((r) => this.one(r));
    if (rels.length === 1) return rels[0];
    const longest = rels.reduce((a, b) => (b.columns.length > a.columns.length ? b : a));
    return {
      columns: longest.columns,
      source: (i) => {
        const out = new Set<string>();
        for (const r of rels) for (const x of i < r.columns.length ? r.source(i) : r.open ? [] : [UNKNOWN]) out.add(x);
        return out;
      },
      ...(rels.some((r) => r.open) ? { open: true } : {}),
    };
  }

  private one(r: RelRow): LineageRelation {
    if (r.system) return { columns: [], source: () => new Set(), open: true };
    if (r.view !== undefined && this.isClean(r.schema, r.name)) return { columns: r.columns, source: () => new Set(), view: true };
    if (r.view !== undefined) {
      const srcs = this.viewSources(r);
      return { columns: r.columns, source: (i) => srcs[i] ?? new Set([UNKNOWN]), view: true };
    }
    return { columns: r.columns, source: (i) => new Set([`${r.schema}.${r.name}.${r.columns[i]}`]) };
  }

  /** Per view column, the base columns it derives from (views over views resolved through this snapshot). */
  private viewSources(r: RelRow): Src[] {
    const memo = this.viewMemo.get(r);
    if (memo) return memo;
    const unknownAll = r.columns.map(() => new Set([UNKNOWN]));
    if (this.resolving.has(r)) return unknownAll;
    this.resolving.add(r);
    try {
      const q = viewQuery(r.view ?? '');
      if (!q) return this.memoView(r, unknownAll);
      const l = statementLineage(q, this, false, 0);
      const outs = l.outputs;
      if (!outs || l.tableReaders.length || l.statistics.length) return this.memoView(r, unknownAll);
      if (!l.exact || outs.length !== r.columns.length) {
        const all = new Set<string>();
        for (const o of outs) for (const x of o) all.add(x);
        if (!l.exact) all.add(UNKNOWN);
        return this.memoView(r, r.columns.map(() => all));
      }
      return this.memoView(r, outs);
    } finally {
      this.resolving.delete(r);
    }
  }

  private memoView(r: RelRow, s: Src[]): Src[] {
    this.viewMemo.set(r, s);
    return s;
  }

  func(schema: string | null, name: string): LineageFunction | undefined {
    const builtin = this.builtins.has(name);
    if (schema !== null && SYSTEM_SCHEMAS.has(schema)) return builtin ? { kind: 'builtin' } : undefined;
    const all = this.functions.get(name) ?? [];
    const rows = schema === null ? all : all.filter((f) => f.schema === schema);
    if (!rows.length) return schema === null && builtin ? { kind: 'builtin' } : undefined;
    const result = new Set<string>();
    const sinks = new Set<string>();
    for (const f of rows) {
      const l = this.oneFunc(f);
      if (!l) return undefined;
      if (l.kind === 'body') {
        for (const x of l.result) result.add(x);
        for (const x of l.sinks) sinks.add(x);
      }
    }
    return { kind: 'body', result, sinks };
  }

  private oneFunc(f: FnRow): LineageFunction | undefined {
    if (this.isClean(f.schema, f.name)) return { kind: 'clean' };
    if (this.fnMemo.has(f)) return this.fnMemo.get(f);
    // recursion (a function calling itself) cannot be traced: unknown
    if (this.resolving.has(f)) return undefined;
    this.resolving.add(f);
    try {
      let out: LineageFunction | undefined;
      const stmts = f.language === 'sql' && f.definition ? functionBodyStatements(f.definition) : undefined;
      if (stmts) {
        const b = bodyLineage(stmts, this);
        out = { kind: 'body', result: b.result, sinks: b.sinks };
      }
      this.fnMemo.set(f, out);
      return out;
    } finally {
      this.resolving.delete(f);
    }
  }
}
