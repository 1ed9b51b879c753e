// Column origins for masking: table OID + attribute number (from RowDescription) → schema.table.column,
// read from the upstream's catalog over a side connection per target database and cached.
import { decodeFields, encodeQuery } from './messages.js';
import { BackendCode } from './codes.js';
import { MessageReader } from './message-reader.js';
import { connectUpstream, type UpstreamOptions, type UpstreamConnection } from './upstream-connection.js';

interface Relation {
  name: string; // schema.table
  columns: Map<number, string>;
  /** for views: the base columns (schema.table.column) their query reads, which any view column may carry */
  sources?: string[];
}

/** Catalog entries older than this are re-read: DDL outside the broker renames columns without telling us. */
const MAX_AGE_MS = 60_000;

export class ColumnCatalog {
  private relations = new Map<number, Relation>();
  private loadedAt = Date.now();
  private conn: Promise<{ c: UpstreamConnection; reader: MessageReader }> | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: () => UpstreamOptions) {}

  /** Column name (and a view's base columns) if known; undefined when the relation has not been read. */
  resolve(oid: number, attnum: number): { name: string; sources?: string[] } | undefined {
    const r = this.relations.get(oid);
    if (!r) return undefined;
    const col = r.columns.get(attnum);
    return col === undefined ? undefined : { name: `${r.name}.${col}`, sources: r.sources };
  }

  /** OIDs among `oids` that are not cached (or all of them when the cache is stale). */
  missing(oids: number[]): number[] {
    if (Date.now() - this.loadedAt > MAX_AGE_MS) this.invalidate();
    return oids.filter((o) => o !== 0 && !this.relations.has(o));
  }

  invalidate(): void {
    this.relations = new Map();
    this.loadedAt = Date.now();
  }

  /** Reads the named relations' columns; failures leave them unknown (and the masker then masks them). */
  load(oids: number[]): Promise<void> {
    const run = async () => {
      const want = this.missing(oids);
      if (!want.length) return;
      const list = want.map((o) => Number(o) >>> 0).join(',');
      const sql = `select c.oid, n.nspname, c.relname, a.attnum, a.attname from pg_catalog.pg_class c
        join pg_catalog.pg_namespace n on n.oid = c.relnamespace
        join pg_catalog.pg_attribute a on a.attrelid = c.oid
        where c.oid in (${list}) and a.attnum > 0 and not a.attisdropped`;
      const rows = await this.query(sql);
      for (const [oid, schema, table, attnum, column] of rows) {
        const key = Number(oid);
        let rel = this.relations.get(key);
        if (!rel) this.relations.set(key, (rel = { name: `${schema}.${table}`, columns: new Map() }));
        rel.columns.set(Number(attnum), column!);
      }
      // A view's columns are not named like the columns they show (`select email as contact`); the view's
      // rewrite rule depends on every base column it reads, so a view reading a masked column is masked.
      const deps = await this.query(`select r.ev_class, n.nspname, c.relname, a.attname from pg_catalog.pg_rewrite r
        join pg_catalog.pg_depend d on d.classid = 'pg_catalog.pg_rewrite'::regclass and d.objid = r.oid
        join pg_catalog.pg_class c on c.oid = d.refobjid join pg_catalog.pg_namespace n on n.oid = c.relnamespace
        join pg_catalog.pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid
        where r.ev_class in (${list}) and d.refobjsubid > 0 and d.refobjid <> r.ev_class`);
      for (const [view, schema, table, column] of deps) {
        const rel = this.relations.get(Number(view));
        if (rel) (rel.sources ??= []).push(`${schema}.${table}.${column}`);
      }
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p.catch(() => {
      this.conn = null;
    });
  }

  /** Runs `fn` after every earlier catalog read (the side connection answers one query at a time). */
  exclusive<T>(fn: (query: (sql: string) => Promise<(string | null)[][]>) => Promise<T>): Promise<T> {
    const run = () => fn((sql) => this.query(sql));
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p.catch((e) => {
      this.conn = null;
      throw e;
    });
  }

  private async query(sql: string): Promise<(string | null)[][]> {
    this.conn ??= connectUpstream(this.options()).then((c) => {
      c.socket.on('error', () => undefined);
      c.socket.on('close', () => (this.conn = null));
      const reader = new MessageReader(c.socket, 64 << 20);
      c.socket.resume();
      return { c, reader };
    });
    const { c, reader } = await this.conn;
    c.socket.write(encodeQuery(sql));
    const rows: (string | null)[][] = [];
    let error: string | undefined;
    for (;;) {
      const { code, body } = await reader.readTyped(10_000);
      if (code === BackendCode.DataRow) {
        const n = body.readInt16BE(0);
        const row: (string | null)[] = [];
        let off = 2;
        for (let i = 0; i < n; i++) {
          const len = body.readInt32BE(off);
          off += 4;
          row.push(len < 0 ? null : body.toString('utf8', off, off + len));
          if (len > 0) off += len;
        }
        rows.push(row);
      } else if (code === BackendCode.ErrorResponse) {
        error = decodeFields(body).get('M');
      } else if (code === BackendCode.ReadyForQuery) {
        if (error) throw new Error(error);
        return rows;
      }
    }
  }

  close(): void {
    void this.conn?.then(({ c }) => c.socket.destroy(), () => undefined);
    this.conn = null;
  }
}

