// The upstream database's relations, views and functions as column lineage needs them (sql/pg-lineage.ts):
// read in one snapshot (session/schema-snapshot.ts) over the catalog side connection, refreshed in the background.
import { UNKNOWN } from '../session/mask-plan.js';
import { SYSTEM_SCHEMAS, SchemaSnapshot } from '../session/schema-snapshot.js';
import type { LineageSchema } from '../sql/pg-lineage.js';
import type { ColumnCatalog } from './catalog.js';
import type { ColumnMask } from '../session/verdict.js';
import type { MaskKind } from '../session/verdict.js';
import { masksFor } from '../session/mask-plan.js';

/** A snapshot older than this is refreshed in the background (DDL by other sessions). */
const REFRESH_MS = 5_000;

const RELATIONS_SQL = `select n.nspname, c.relname, c.relkind,
  case when n.nspname in ('pg_catalog', 'information_schema') then null
    else (select json_agg(a.attname order by a.attnum)::text from pg_catalog.pg_attribute a where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped) end,
  case when c.relkind in ('v', 'm') and n.nspname not in ('pg_catalog', 'information_schema') then pg_catalog.pg_get_viewdef(c.oid) end
  from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  where c.relkind in ('r', 'v', 'm', 'f', 'p') and n.nspname <> 'pg_toast'`;
const FUNCTIONS_SQL = `select n.nspname, p.proname, l.lanname,
  case when l.lanname = 'sql' and p.prokind in ('f', 'p') then pg_catalog.pg_get_functiondef(p.oid) end
  from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace join pg_catalog.pg_language l on l.oid = p.prolang
  where n.nspname not in ('pg_catalog', 'information_schema')`;
const OPERATORS_SQL = `select distinct o.oprname from pg_catalog.pg_operator o
  join pg_catalog.pg_namespace n on n.oid = o.oprnamespace where n.nspname not in ('pg_catalog', 'information_schema')`;
const TYPES_SQL = `select distinct t.typname, case when n.nspname in ('pg_catalog', 'information_schema') then 'b' else 'u' end
  from pg_catalog.pg_type t join pg_catalog.pg_namespace n on n.oid = t.typnamespace`;
const BUILTINS_SQL = `select distinct p.proname from pg_catalog.pg_proc p
  where p.pronamespace in ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)`;

/** Keeps a snapshot per catalog (target database) fresh; lookups never wait for the database. */
export class LineageCatalog {
  private snap: SchemaSnapshot | null = null;
  private loading: Promise<SchemaSnapshot | null> | null = null;

  constructor(private readonly catalog: ColumnCatalog) {}

  /** the refresh current() started, until it ends */
  private background: Promise<unknown> | null = null;

  /** The latest snapshot (null before the first load or after a failed one); refreshes it when old. */
  current(): SchemaSnapshot | null {
    // one background refresh at a time: every statement asks, and each ask while a read was under way chained one
    // more full catalog read (refresh()), so a busy broker read the catalog dozens of times in a row every 5 s
    if ((!this.snap || Date.now() - this.snap.startedAt > REFRESH_MS) && !this.background) {
      this.background = this.refresh().finally(() => {
        this.background = null;
      });
    }
    return this.snap;
  }

  /** A snapshot whose reading started after `after` (ms epoch). */
  async fresh(after: number): Promise<SchemaSnapshot | null> {
    const s = await (this.loading ?? this.refresh());
    if (s && s.startedAt >= after) return s;
    return this.refresh();
  }

  refresh(): Promise<SchemaSnapshot | null> {
    if (this.loading) {
      // a load already under way may have started before the caller's reason to refresh: chain one more
      const prev = this.loading;
      const next = prev.then(() => this.load());
      this.loading = next;
      return next;
    }
    this.loading = this.load();
    return this.loading;
  }

  private async load(): Promise<SchemaSnapshot | null> {
    const startedAt = Date.now();
    try {
      const snap = await this.catalog.exclusive(async (query) => {
        const rels = (await query(RELATIONS_SQL)).map(([schema, name, kind, cols, view]) => ({
          schema: schema!, name: name!, kind: kind!, columns: cols ? (JSON.parse(cols) as string[]) : [], system: SYSTEM_SCHEMAS.has(schema!),
          ...(view !== null && view !== undefined ? { view } : {}),
        }));
        const fns = (await query(FUNCTIONS_SQL)).map(([schema, name, language, definition]) => ({
          schema: schema!, name: name!, language: language!, ...(definition ? { definition } : {}),
        }));
        const builtins = new Set((await query(BUILTINS_SQL)).map(([n]) => n!));
        const operators = new Set((await query(OPERATORS_SQL)).map(([n]) => n!));
        const typeRows = await query(TYPES_SQL);
        const types = { builtin: new Set(typeRows.filter(([, k]) => k === 'b').map(([n]) => n!)), user: new Set(typeRows.filter(([, k]) => k === 'u').map(([n]) => n!)) };
        return new SchemaSnapshot(rels, fns, builtins, [], startedAt, operators, types);
      });
      if (!this.snap || this.snap.startedAt <= startedAt) this.snap = snap;
      return snap;
    } catch {
      return this.snap;
    } finally {
      this.loading = null;
    }
  }
}

const catalogs = new WeakMap<ColumnCatalog, LineageCatalog>();
/** The lineage catalog sharing `catalog`'s side connection (one per target database). */
export function lineageCatalogOf(catalog: ColumnCatalog): LineageCatalog {
  let lc = catalogs.get(catalog);
  if (!lc) catalogs.set(catalog, (lc = new LineageCatalog(catalog)));
  return lc;
}

/**
 * One session's view of lineage: the shared snapshot with the session's `clean` marks, and distrust after the
 * session's own DDL. Defends against redefining an object (CREATE OR REPLACE VIEW/FUNCTION, ALTER … RENAME)
 * and reading through it before the snapshot shows the change: until a snapshot read after the session went
 * idle again (its DDL committed or rolled back) is in, lineage is unknown and everything masked or refused.
 */
export class SessionLineage {
  private readonly lc: LineageCatalog;
  private readonly clean: string[];
  private tainted = false;
  private refreshing: Promise<void> | null = null;
  private last: { snap: SchemaSnapshot; view: SchemaSnapshot } | null = null;

  constructor(catalog: ColumnCatalog, private readonly masks: readonly ColumnMask[]) {
    this.lc = lineageCatalogOf(catalog);
    this.clean = [...new Set(masks.flatMap((m) => m.clean ?? []))];
  }

  /** Waits (bounded) for the first snapshot, so a session's first statements are traced, not refused. */
  async loaded(timeoutMs = 5_000): Promise<void> {
    if (this.lc.current()) return;
    await Promise.race([this.lc.fresh(0), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
  }

  schema(): LineageSchema | null {
    const snap = this.lc.current();
    if (this.tainted) return snap ? snap.untrusted() : null;
    if (!snap) return null;
    if (this.last?.snap !== snap) this.last = { snap, view: snap.withClean(this.clean) };
    return this.last.view;
  }

  taint(): void {
    this.tainted = true;
  }

  /**
   * At ReadyForQuery: once idle after DDL (committed or rolled back), read the catalog again; statements that
   * arrive meanwhile wait for that read (pending()). Inside a transaction block the side connection cannot see
   * the change, so lineage stays unknown (everything masked, exports refused) until the block ends.
   */
  ready(status: string): void {
    if (!this.tainted || status !== 'I' || this.refreshing) return;
    const t = Date.now();
    this.refreshing = this.lc.fresh(t).then((s) => {
      this.refreshing = null;
      if (s && s.startedAt >= t) this.tainted = false;
    });
  }

  /** A catalog read the next statement must wait for (bounded), or undefined. */
  pending(timeoutMs = 3_000): Promise<void> | undefined {
    if (!this.refreshing) return undefined;
    return Promise.race([this.refreshing, new Promise<void>((r) => setTimeout(r, timeoutMs).unref())]);
  }

  /** A view column (schema.view.column) → the mask its traced sources call for; undefined when not a view. */
  viewMask(qualified: string): MaskKind | null | undefined {
    const schema = this.tainted ? null : this.schema();
    if (!schema) return undefined;
    const a = qualified.indexOf('.');
    const b = qualified.lastIndexOf('.');
    if (a < 0 || b === a) return undefined;
    const rel = schema.relation(qualified.slice(0, a), qualified.slice(a + 1, b));
    if (!rel?.view) return undefined;
    const i = rel.columns.indexOf(qualified.slice(b + 1));
    return masksFor(i < 0 ? new Set([UNKNOWN]) : rel.source(i), this.masks).kind;
  }
}
