// A snapshot of a MySQL/MariaDB target's views and stored routines as masking needs them: per view column and per
// stored function, the masks the value it returns calls for, traced through definitions to base columns
// (views over views, functions called in views). Defends against reading a masked column under another name
// (`CREATE VIEW v AS SELECT email AS contact …`, a function returning `email`): the masker matched view columns
// by their own names. What cannot be read (a definition hidden from the broker's role, a compound function body)
// is of unknown lineage and gets the strictest mask in force (fail closed).
import type { ColumnMask } from '../rules/mask.js';
import { derivedMask, strictestMask } from './mask.js';
import { matchName } from '../rules/glob.js';
import type { MaskKind } from '../rules/types.js';
import { DERIVED, UNKNOWN_SOURCE, routineBodyLineage, viewDefinitionLineage, viewDefinitionReads, type ViewLineage } from '../sql/mysql-lineage.js';

export interface MysqlViewRow {
  schema: string;
  name: string;
  /** VIEW_DEFINITION; empty or null when the reading role may not see it */
  definition: string | null;
}

export interface MysqlRoutineRow {
  schema: string;
  name: string;
  type: string;
  /** ROUTINE_DEFINITION; null when the reading role may not see it */
  definition: string | null;
}

type Sources = Set<string>;

const lc = (s: string) => s.toLowerCase();
/** Schemas whose relations the snapshot does not list; they hold no user data the mask rules name. */
const SYSTEM_SCHEMAS = new Set(['mysql', 'sys', 'information_schema', 'performance_schema']);

export class MysqlSchema {
  /** `schema.view` → row */
  private readonly views = new Map<string, MysqlViewRow>();
  /** view name → schemas having a view of that name */
  private readonly viewSchemas = new Map<string, string[]>();
  private readonly routines = new Map<string, MysqlRoutineRow>();
  private readonly routineSchemas = new Map<string, string[]>();
  private readonly viewMemo = new Map<string, Map<string, Sources> | null>();
  private readonly routineMemo = new Map<string, Sources>();
  private readonly resolving = new Set<string>();

  /**
   * `schema.table` of every base table the snapshot saw, or null when the snapshot did not list them (then a name
   * that is no known view is taken for a table). A relation that is neither may be a view created after the
   * snapshot was read (`CREATE VIEW v AS SELECT email AS contact …` and an immediate `SELECT contact FROM v`):
   * its columns are of unknown lineage until the next snapshot (fail closed).
   */
  private readonly tables: Set<string> | null;
  /** called when a statement names a relation the snapshot does not know (asks for a fresh snapshot) */
  onMiss?: (key: string) => void;

  constructor(private readonly viewRows: MysqlViewRow[], private readonly routineRows: MysqlRoutineRow[], readonly startedAt: number, private readonly clean: readonly string[] = [], private readonly tableNames: readonly string[] | null = null) {
    this.tables = tableNames ? new Set(tableNames.map(lc)) : null;
    const views = viewRows;
    const routines = routineRows;
    for (const v of views) {
      const key = `${lc(v.schema)}.${lc(v.name)}`;
      this.views.set(key, v);
      this.viewSchemas.set(lc(v.name), [...(this.viewSchemas.get(lc(v.name)) ?? []), lc(v.schema)]);
    }
    for (const r of routines) {
      if (lc(r.type) !== 'function') continue;
      const key = `${lc(r.schema)}.${lc(r.name)}`;
      this.routines.set(key, r);
      this.routineSchemas.set(lc(r.name), [...(this.routineSchemas.get(lc(r.name)) ?? []), lc(r.schema)]);
    }
  }

  /** The same snapshot with the rule files' `clean` globs (views and functions trusted not to return masked values). */
  withClean(clean: readonly string[]): MysqlSchema {
    if (clean.length === 0 && this.clean.length === 0) return this;
    const out = new MysqlSchema(this.viewRows, this.routineRows, this.startedAt, clean, this.tableNames);
    out.onMiss = this.onMiss;
    return out;
  }

  /**
   * True when `name` (as written; unqualified names are in `database`) is neither a view nor a base table of the
   * snapshot, outside the system schemas: a relation created after the snapshot (a view, or a temporary table the
   * side connection cannot see), whose lineage is unknown. Asks for a fresh snapshot.
   */
  unknownRelation(name: string, database: string | null): boolean {
    if (!this.tables) return false;
    const parts = lc(name).replace(/`/g, '').split('.');
    const table = parts[parts.length - 1]!;
    const schema = parts.length >= 2 ? parts[parts.length - 2]! : database ? lc(database) : null;
    if (parts.length === 1 && table === 'dual') return false;
    if (schema && SYSTEM_SCHEMAS.has(schema)) return false;
    const key = schema ? `${schema}.${table}` : null;
    if (key ? this.views.has(key) || this.tables.has(key) : this.viewSchemas.has(table)) return false;
    this.onMiss?.(key ?? table);
    return true;
  }

  /** A view or function the rule files mark clean (its values never carry a masked value). */
  isClean(key: string): boolean {
    return this.clean.some((p) => matchName(p, key));
  }

  /** `schema.view` keys a written name can mean: qualified exactly, unqualified any schema (fail closed). */
  viewKeys(name: string): string[] {
    const parts = lc(name).replace(/`/g, '').split('.');
    if (parts.length >= 2) {
      const key = `${parts[parts.length - 2]}.${parts[parts.length - 1]}`;
      return this.views.has(key) ? [key] : [];
    }
    return (this.viewSchemas.get(parts[0]!) ?? []).map((s) => `${s}.${parts[0]}`);
  }

  routineKeys(name: string): string[] {
    const parts = lc(name).replace(/`/g, '').split('.');
    if (parts.length >= 2) {
      const key = `${parts[parts.length - 2]}.${parts[parts.length - 1]}`;
      return this.routines.has(key) ? [key] : [];
    }
    return (this.routineSchemas.get(parts[0]!) ?? []).map((s) => `${s}.${parts[0]}`);
  }

  /**
   * The functions reading relation `name` (as written; unqualified names may be a view of any schema) runs,
   * through the views it reads: [] for a base table or an unknown name, null when a definition on the way cannot
   * be read (reading it may run anything). For read grants (session/function-effects.ts).
   */
  relationCalls(name: string): string[] | null {
    const out = new Set<string>();
    for (const key of this.viewKeys(name)) if (!this.collectCalls(key, new Set(), out)) return null;
    return [...out];
  }

  private collectCalls(key: string, seen: Set<string>, out: Set<string>): boolean {
    if (seen.has(key)) return true;
    seen.add(key);
    const row = this.views.get(key)!;
    if (!row.definition) return false;
    const r = viewDefinitionReads(row.definition);
    for (const c of r.calls) out.add(c);
    for (const t of r.tables) {
      for (const inner of this.viewKeys(t.includes('.') ? t : `${lc(row.schema)}.${t}`)) if (!this.collectCalls(inner, seen, out)) return false;
    }
    return true;
  }

  /** Per column of the view (lower-case name), the base columns its value can derive from; null: unknown. */
  viewSources(key: string): Map<string, Sources> | null {
    if (this.viewMemo.has(key)) return this.viewMemo.get(key)!;
    const row = this.views.get(key);
    if (!row) return null;
    if (this.isClean(key)) return this.memoView(key, new Map());
    // a view defined in terms of itself (through others) cannot be traced
    if (this.resolving.has(key)) return null;
    this.resolving.add(key);
    try {
      const l = row.definition ? viewDefinitionLineage(row.definition) : null;
      if (!l) return this.memoView(key, null);
      const out = new Map<string, Sources>();
      for (const c of l.columns) {
        const src: Sources = new Set();
        if (!c.plain) src.add(DERIVED);
        for (const r of c.refs) for (const x of this.resolveRef(r, lc(row.schema), l)) src.add(x);
        for (const f of c.calls) for (const x of this.callSources(f, lc(row.schema))) src.add(x);
        out.set(c.name, src);
      }
      return this.memoView(key, out);
    } finally {
      this.resolving.delete(key);
    }
  }

  private memoView(key: string, v: Map<string, Sources> | null): Map<string, Sources> | null {
    this.viewMemo.set(key, v);
    return v;
  }

  /** A column reference in a definition of schema `schema` → base columns (through views) or UNKNOWN. */
  private resolveRef(ref: string, schema: string, l: Pick<ViewLineage, 'tables'>): string[] {
    const parts = ref.split('.');
    const col = parts[parts.length - 1]!;
    const through = (tableKey: string): string[] => {
      if (this.views.has(tableKey)) {
        const inner = this.viewSources(tableKey);
        if (!inner) return [UNKNOWN_SOURCE];
        return [...(inner.get(col) ?? [UNKNOWN_SOURCE])];
      }
      return [`${tableKey}.${col}`];
    };
    if (parts.length >= 3) return through(`${parts[parts.length - 3]}.${parts[parts.length - 2]}`);
    const tables = l.tables.map((t) => (t.includes('.') ? t : `${schema}.${t}`));
    if (parts.length === 2) {
      const named = `${schema}.${parts[0]}`;
      if (tables.includes(named) || this.views.has(named)) return through(named);
      // an alias: the column of any table the definition reads
    }
    if (!tables.length) return [UNKNOWN_SOURCE, ref];
    return tables.flatMap(through);
  }

  /** What a called routine returns: its body's columns, nothing for a built-in (not a stored function). */
  callSources(name: string, schema: string | null): Sources {
    const keys = name.includes('.') ? this.routineKeys(name) : [...new Set([...(schema ? this.routineKeys(`${schema}.${name}`) : []), ...this.routineKeys(name)])];
    const out: Sources = new Set();
    for (const k of keys) for (const x of this.routineSources(k)) out.add(x);
    return out;
  }

  private routineSources(key: string): Sources {
    const memo = this.routineMemo.get(key);
    if (memo) return memo;
    if (this.isClean(key)) return new Set();
    if (this.resolving.has(key)) return new Set([UNKNOWN_SOURCE]);
    this.resolving.add(key);
    try {
      const row = this.routines.get(key)!;
      const l = row.definition ? routineBodyLineage(row.definition) : null;
      const out: Sources = new Set();
      if (!l) out.add(UNKNOWN_SOURCE);
      else {
        const schema = lc(row.schema);
        for (const r of l.refs) for (const x of this.resolveRef(r, schema, l)) out.add(x);
        for (const f of l.calls) for (const x of this.callSources(f, schema)) out.add(x);
      }
      this.routineMemo.set(key, out);
      return out;
    } finally {
      this.resolving.delete(key);
    }
  }
}

/** The masks a source set calls for; unknown sources call for the strictest mask of all (fail closed). */
export function mysqlMasksFor(src: Iterable<string>, masks: readonly ColumnMask[]): { kind: MaskKind | null; rules: ColumnMask[] } {
  const rules: ColumnMask[] = [];
  for (const col of src) {
    if (col === UNKNOWN_SOURCE) return { kind: derivedMask(strictestMask(masks)), rules: [...masks] };
    for (const m of masks) if (!rules.includes(m) && m.columns.some((p) => matchName(p, col))) rules.push(m);
  }
  const kind = rules.length ? strictestMask(rules) : null;
  // a view column computed from its sources (not one of them as it is) is redacted whole
  return { kind: [...src].includes(DERIVED) ? derivedMask(kind) : kind, rules };
}

/**
 * The mask of one result column that names a view as its origin (schema, view, column as the column definition
 * reports them): undefined when the origin is not a known view, the strictest mask when the view cannot be traced.
 */
export function viewColumnMask(schema: MysqlSchema | null, masks: readonly ColumnMask[], db: string, table: string, column: string): MaskKind | null | undefined {
  // no snapshot: any origin may be a view (fail closed)
  if (!schema) return derivedMask(strictestMask(masks));
  const key = `${lc(db)}.${lc(table)}`;
  if (!schema.viewKeys(key).length) return db && schema.unknownRelation(key, null) ? derivedMask(strictestMask(masks)) : undefined;
  if (schema.isClean(key)) return null;
  const src = schema.viewSources(key);
  if (!src) return derivedMask(strictestMask(masks));
  return mysqlMasksFor(src.get(lc(column)) ?? [UNKNOWN_SOURCE], masks).kind;
}
