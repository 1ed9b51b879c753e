// The target database's functions as read grants need them (session/function-effects.ts): pg_proc's volatility,
// SECURITY DEFINER and kind for every non-system function, and the names of the system's own functions, read in
// one query over the catalog side connection (pg/catalog.ts), shared per target database and refreshed in the
// background. Defends against a read grant writing through an existing volatile or SECURITY DEFINER function.
import type { ColumnCatalog } from './catalog.js';
import type { FunctionCatalogView, FunctionVerdict } from '../session/function-effects.js';

/** A snapshot older than this is refreshed in the background (functions created or replaced by others). */
const REFRESH_MS = 5_000;
const SYSTEM = new Set(['pg_catalog', 'information_schema']);

/** kind: 'b' = a system function name, 'w' = a user function that may write, 'r' = one that only reads */
const FUNCTIONS_SQL = `select case when n.nspname in ('pg_catalog', 'information_schema') then 'b'
    when p.prosecdef or p.provolatile = 'v' or p.prokind = 'p' then 'w' else 'r' end, n.nspname, p.proname
  from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
  group by 1, 2, 3`;

/** user operators (outside the system schemas) and whether the function behind them may write */
const OPERATORS_SQL = `select distinct n.nspname, o.oprname, case when p.prosecdef or p.provolatile = 'v' then 'w' else 'r' end
  from pg_catalog.pg_operator o join pg_catalog.pg_namespace n on n.oid = o.oprnamespace
  join pg_catalog.pg_proc p on p.oid = o.oprcode::oid where n.nspname not in ('pg_catalog', 'information_schema')`;

/**
 * What reading a relation runs: the functions its view rules and row-level policies call (operators resolved to
 * their functions), and the relations a view reads (for views over views, and tables with policies under a view).
 * kind 'f': `ref` is a function (schema.name); kind 'r': `ref` is a relation (schema.name). PostgreSQL records no
 * dependency on pinned (built-in) functions, so builtins a view calls are not listed: they run with the invoker's
 * own privileges, as if called directly, and only user functions (SECURITY DEFINER above all) carry the risk.
 */
const RELATION_CALLS_SQL = `with deps as (
    select r.ev_class as rel, d.refclassid, d.refobjid from pg_catalog.pg_depend d
      join pg_catalog.pg_rewrite r on d.classid = 'pg_catalog.pg_rewrite'::regclass and r.oid = d.objid
    union all
    select pol.polrelid, d.refclassid, d.refobjid from pg_catalog.pg_depend d
      join pg_catalog.pg_policy pol on d.classid = 'pg_catalog.pg_policy'::regclass and pol.oid = d.objid)
  select distinct rn.nspname || '.' || rc.relname, 'f', pn.nspname || '.' || p.proname
    from deps x
    join pg_catalog.pg_proc p on p.oid = case x.refclassid when 'pg_catalog.pg_proc'::regclass then x.refobjid
      when 'pg_catalog.pg_operator'::regclass then (select o.oprcode::oid from pg_catalog.pg_operator o where o.oid = x.refobjid) end
    join pg_catalog.pg_namespace pn on pn.oid = p.pronamespace
    join pg_catalog.pg_class rc on rc.oid = x.rel join pg_catalog.pg_namespace rn on rn.oid = rc.relnamespace
    where rn.nspname not in ('pg_catalog', 'information_schema')
  union
  select distinct rn.nspname || '.' || rc.relname, 'r', tn.nspname || '.' || tc.relname
    from deps x
    join pg_catalog.pg_class tc on x.refclassid = 'pg_catalog.pg_class'::regclass and tc.oid = x.refobjid and tc.oid <> x.rel
    join pg_catalog.pg_namespace tn on tn.oid = tc.relnamespace
    join pg_catalog.pg_class rc on rc.oid = x.rel join pg_catalog.pg_namespace rn on rn.oid = rc.relnamespace
    where rn.nspname not in ('pg_catalog', 'information_schema')`;

class Snapshot {
  readonly builtins = new Set<string>();
  /** name → verdicts of its overloads, and schema.name → the same */
  readonly user = new Map<string, FunctionVerdict>();

  /** operator name and schema.name → 'writes' when one of that name is bound to a function that may write */
  readonly operators = new Map<string, FunctionVerdict>();

  /** relation (schema.name) → functions it calls directly, and relations it reads */
  private readonly relCalls = new Map<string, Set<string>>();
  private readonly relReads = new Map<string, Set<string>>();
  /** unqualified relation name → its schema.name keys (an unqualified name may mean any of them) */
  private readonly relNames = new Map<string, string[]>();
  private readonly relMemo = new Map<string, readonly string[]>();

  constructor(rows: (string | null)[][], readonly startedAt: number, ops: (string | null)[][] = [], rels: (string | null)[][] = []) {
    for (const [rel, kind, ref] of rels) {
      const map = kind === 'f' ? this.relCalls : this.relReads;
      if (!map.has(rel!)) map.set(rel!, new Set());
      map.get(rel!)!.add(ref!);
      const name = rel!.slice(rel!.indexOf('.') + 1);
      const keys = this.relNames.get(name) ?? [];
      if (!keys.includes(rel!)) this.relNames.set(name, [...keys, rel!]);
    }
    for (const [schema, name, kind] of ops) {
      for (const key of [name!, `${schema}.${name}`]) if (this.operators.get(key) !== 'writes') this.operators.set(key, kind === 'w' ? 'writes' : 'reads');
    }
    for (const [kind, schema, name] of rows) {
      if (kind === 'b') {
        this.builtins.add(name!);
        continue;
      }
      const v: FunctionVerdict = kind === 'w' ? 'writes' : 'reads';
      // overloads and same-named functions in other schemas: one that may write makes the name a writer
      for (const key of [name!, `${schema}.${name}`]) if (this.user.get(key) !== 'writes') this.user.set(key, v);
    }
  }

  /** Every function reading `rel` (schema.name) runs, through the relations it reads (cycles cut). */
  callsOf(rel: string): readonly string[] {
    let list = this.relMemo.get(rel);
    if (!list) this.relMemo.set(rel, (list = [...this.collect(rel, new Set(), new Set())]));
    return list;
  }

  private collect(rel: string, seen: Set<string>, out: Set<string>): Set<string> {
    if (seen.has(rel)) return out;
    seen.add(rel);
    for (const f of this.relCalls.get(rel) ?? []) out.add(f);
    for (const r of this.relReads.get(rel) ?? []) this.collect(r, seen, out);
    return out;
  }

  /** schema.name keys a written relation name can mean (unqualified: every schema's relation of that name). */
  relationKeys(name: string): string[] {
    // facts keep the server's spelling (unquoted names folded to lower case, quoted ones as written)
    const parts = name.replace(/"/g, '').split('.');
    if (parts.length >= 2) return [`${parts[parts.length - 2]}.${parts[parts.length - 1]}`];
    return this.relNames.get(parts[0]!) ?? [];
  }
}

export class FunctionCatalog implements FunctionCatalogView {
  private snap: Snapshot | null = null;
  private loading: Promise<Snapshot | null> | null = null;

  constructor(private readonly catalog: ColumnCatalog) {}

  /** Waits (bounded) for the first snapshot, so a session's first calls are decided by it, not refused. */
  async loaded(timeoutMs = 5_000): Promise<void> {
    if (this.current()) return;
    await Promise.race([this.refresh(), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
  }

  private current(): Snapshot | null {
    if (!this.snap || Date.now() - this.snap.startedAt > REFRESH_MS) void this.refresh();
    return this.snap;
  }

  private refresh(): Promise<Snapshot | null> {
    this.loading ??= (async () => {
      const startedAt = Date.now();
      try {
        const [rows, ops, rels] = await this.catalog.exclusive(async (query) => [
          await query(FUNCTIONS_SQL), await query(OPERATORS_SQL), await query(RELATION_CALLS_SQL)]);
        this.snap = new Snapshot(rows, startedAt, ops, rels);
      } catch {
        // keep the last snapshot; without one every user function counts as writing
      } finally {
        this.loading = null;
      }
      return this.snap;
    })();
    return this.loading;
  }

  builtin(name: string): boolean {
    const dot = name.lastIndexOf('.');
    if (dot >= 0) return SYSTEM.has(name.slice(0, dot));
    const s = this.current();
    // an unqualified name a user schema also defines may resolve to it (search_path): decided as the user's
    return !!s && s.builtins.has(name) && !s.user.has(name);
  }

  operator(name: string): FunctionVerdict | null {
    const s = this.current();
    if (!s) return null;
    return s.operators.get(name) ?? 'builtin';
  }

  verdict(name: string): FunctionVerdict | null {
    const s = this.current();
    if (!s) return null;
    return s.user.get(name) ?? 'unknown';
  }

  /**
   * Without a snapshot a relation is taken at its word ([]), like operators: failing closed would refuse every
   * read. With one, user functions reached through it are then decided like direct calls (and fail closed).
   */
  relationCalls(name: string): readonly string[] {
    const s = this.current();
    if (!s) return [];
    const keys = s.relationKeys(name);
    return keys.length === 1 ? s.callsOf(keys[0]!) : [...new Set(keys.flatMap((k) => s.callsOf(k)))];
  }
}

const catalogs = new WeakMap<ColumnCatalog, FunctionCatalog>();
/** The function catalog sharing `catalog`'s side connection (one per target database). */
export function functionCatalogOf(catalog: ColumnCatalog): FunctionCatalog {
  let fc = catalogs.get(catalog);
  if (!fc) catalogs.set(catalog, (fc = new FunctionCatalog(catalog)));
  return fc;
}
