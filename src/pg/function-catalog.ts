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

class Snapshot {
  readonly builtins = new Set<string>();
  /** name → verdicts of its overloads, and schema.name → the same */
  readonly user = new Map<string, FunctionVerdict>();

  /** operator name and schema.name → 'writes' when one of that name is bound to a function that may write */
  readonly operators = new Map<string, FunctionVerdict>();

  constructor(rows: (string | null)[][], readonly startedAt: number, ops: (string | null)[][] = []) {
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
        const [rows, ops] = await this.catalog.exclusive(async (query) => [await query(FUNCTIONS_SQL), await query(OPERATORS_SQL)]);
        this.snap = new Snapshot(rows, startedAt, ops);
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
}

const catalogs = new WeakMap<ColumnCatalog, FunctionCatalog>();
/** The function catalog sharing `catalog`'s side connection (one per target database). */
export function functionCatalogOf(catalog: ColumnCatalog): FunctionCatalog {
  let fc = catalogs.get(catalog);
  if (!fc) catalogs.set(catalog, (fc = new FunctionCatalog(catalog)));
  return fc;
}
