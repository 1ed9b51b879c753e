// Reads a MySQL/MariaDB target's view definitions and stored function bodies (information_schema.VIEWS, ROUTINES)
// over a side connection, as the target's `catalog` role or else the grant's own role, into a snapshot the core's
// mask verdict traces through (session/mysql-schema.ts). Shared by the sessions of one upstream role, refreshed in
// the background; a failed read leaves no snapshot, and views and stored functions are then masked (fail closed).
import { Capability, Command, PacketHeader } from './codes.js';
import { PacketReader } from './packet-reader.js';
import { decodeErr, encodeComQuery, encodePacket, firstTextValue } from './packets.js';
import { connectUpstream, type UpstreamOptions } from './upstream-connection.js';
import { MysqlSchema, type MysqlRoutineRow, type MysqlViewRow } from '../session/mysql-schema.js';
import type { Session } from '../session/session.js';
import type { StatementFacts } from '../sql/facts.js';
import { MysqlFunctionCatalog } from './function-effects.js';
import type { FunctionCatalogView } from '../session/function-effects.js';
import { NullableColumns } from '../session/nullable-columns.js';

/** A snapshot older than this is refreshed in the background (views created or replaced by other sessions). */
const REFRESH_MS = 5_000;
/** A snapshot missing a relation a statement names is re-read after at most this long. */
const MISS_MS = 250;
const SYSTEM = "('mysql', 'sys', 'information_schema', 'performance_schema')";
/** JSON_ARRAYAGG is bounded by group_concat_max_len on MariaDB: raised for the side connection only. */
const PREPARE = 'SET SESSION group_concat_max_len = 1073741824';
const VIEWS_SQL = `SELECT JSON_ARRAYAGG(JSON_ARRAY(TABLE_SCHEMA, TABLE_NAME, VIEW_DEFINITION)) FROM information_schema.VIEWS WHERE TABLE_SCHEMA NOT IN ${SYSTEM}`;
const TABLES_SQL = `SELECT JSON_ARRAYAGG(CONCAT(TABLE_SCHEMA, '.', TABLE_NAME)) FROM information_schema.TABLES WHERE TABLE_TYPE <> 'VIEW' AND TABLE_SCHEMA NOT IN ${SYSTEM}`;
const ROUTINES_SQL = `SELECT JSON_ARRAYAGG(JSON_ARRAY(ROUTINE_SCHEMA, ROUTINE_NAME, ROUTINE_TYPE, ROUTINE_DEFINITION)) FROM information_schema.ROUTINES WHERE ROUTINE_TYPE = 'FUNCTION' AND ROUTINE_SCHEMA NOT IN ${SYSTEM}`;

/** Every non-system routine's characteristics and body, for read grants' calls (mysql/function-effects.ts). */
const FUNCTION_EFFECTS_SQL = `SELECT JSON_ARRAYAGG(JSON_ARRAY(ROUTINE_SCHEMA, ROUTINE_NAME, ROUTINE_TYPE, SQL_DATA_ACCESS, SECURITY_TYPE, ROUTINE_DEFINITION)) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA NOT IN ${SYSTEM}`;

/**
 * Columns that may hold NULL, of base tables (for writes scoped only by `col IS NOT NULL`, session/nullable-columns.ts),
 * and the tables' CHECK clauses: a column a CHECK names may be kept from NULL by it, so it is not counted nullable.
 */
const NULLABLE_SQL = `SELECT JSON_ARRAYAGG(JSON_ARRAY(c.TABLE_SCHEMA, c.TABLE_NAME, c.COLUMN_NAME)) FROM information_schema.COLUMNS c
  JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
  WHERE t.TABLE_TYPE = 'BASE TABLE' AND c.IS_NULLABLE = 'YES' AND c.TABLE_SCHEMA NOT IN ${SYSTEM}`;
const CHECKS_SQL = `SELECT JSON_ARRAYAGG(JSON_ARRAY(tc.TABLE_SCHEMA, tc.TABLE_NAME, cc.CHECK_CLAUSE)) FROM information_schema.TABLE_CONSTRAINTS tc
  JOIN information_schema.CHECK_CONSTRAINTS cc ON cc.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA AND cc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME
  WHERE tc.CONSTRAINT_TYPE = 'CHECK' AND tc.TABLE_SCHEMA NOT IN ${SYSTEM}`;

/** Nullable columns minus those a CHECK clause of their table names (any spelling: the word, case-insensitive). */
function nullableColumns(columns: [string, string, string][], checks: [string, string, string][]): NullableColumns {
  const clauses = new Map<string, string>();
  for (const [schema, table, clause] of checks) {
    const key = `${schema}.${table}`.toLowerCase();
    clauses.set(key, `${clauses.get(key) ?? ''} ${clause ?? ''}`.toLowerCase());
  }
  const named = (text: string, col: string) => new RegExp(`(^|[^a-z0-9_$])${col.toLowerCase().replace(/[^a-z0-9_$]/g, (ch) => `\\${ch}`)}($|[^a-z0-9_$])`).test(text);
  return new NullableColumns(columns.filter(([schema, table, col]) => {
    const text = clauses.get(`${schema}.${table}`.toLowerCase());
    return text === undefined || !named(text, col);
  }), true);
}

export type CatalogOptions = Omit<UpstreamOptions, 'capabilities' | 'mariadbCapabilities' | 'charset'>;

export class MysqlCatalog {
  private snap: MysqlSchema | null = null;
  private loading: Promise<MysqlSchema | null> | null = null;
  /** when the last read started: a failing read is retried at most once per REFRESH_MS, not once per statement */
  private attemptedAt = 0;
  /** relation names a statement named that the snapshot lacked, and when first */
  private readonly misses = new Map<string, number>();
  /** which stored functions may write (null before the first read; kept from the last good read after a failure) */
  functions: MysqlFunctionCatalog | null = null;
  /** columns that may hold NULL (null before the first read: nothing is known nullable) */
  nullable: NullableColumns | null = null;

  constructor(private readonly options: CatalogOptions) {}

  /** The latest snapshot (null before the first read or after a failed one); refreshed in the background when old. */
  current(): MysqlSchema | null {
    const now = Date.now();
    if ((!this.snap || now - this.snap.startedAt > REFRESH_MS) && now - this.attemptedAt > REFRESH_MS) void this.refresh();
    return this.snap;
  }

  /** Waits for a snapshot (the first statement of a session is decided with one), at most `ms`. */
  async loaded(ms = 5_000): Promise<MysqlSchema | null> {
    if (this.snap) return this.snap;
    const timer = new Promise<null>((r) => setTimeout(() => r(null), ms).unref());
    return Promise.race([this.refresh(), timer]);
  }

  /**
   * A statement named a relation the snapshot does not know (created since it was read): read a new one soon, at
   * most every MISS_MS. A name still missing from a snapshot read after its first miss is not a new view (a
   * temporary table, a typo) and asks for no more reads: a client naming one in every statement costs nothing.
   */
  private missed(key: string): void {
    const first = this.misses.get(key);
    if (first !== undefined && this.snap && this.snap.startedAt > first) return;
    if (first === undefined) {
      if (this.misses.size >= 10_000) this.misses.clear();
      this.misses.set(key, Date.now());
    }
    if (Date.now() - this.attemptedAt > MISS_MS) void this.refresh();
  }

  /**
   * Unqualified function names the server resolves to a native function (probed, see probeNatives). A native
   * function takes precedence over a stored function of the same name for unqualified calls, so a name once found
   * native stays native; a name never probed is not taken to be native (a stored function created since the last
   * snapshot would otherwise be decided as a built-in on read grants).
   */
  readonly natives = new Set<string>();

  /**
   * Asks the server which of `names` are native: `PREPARE s FROM 'SELECT name(NULL × 97)'` (names are plain
   * identifiers, checked below) on a side connection
   * with no database selected. A stored function (or no function) of that name answers 1305 "FUNCTION … does not
   * exist" there; a native function prepares, or fails for its own reason (argument count 1582, its own grammar
   * 1064). Nothing runs: the statement is only prepared.
   */
  async probeNatives(names: readonly string[]): Promise<void> {
    const todo = [...new Set(names.map((n) => n.replace(/`/g, '').toLowerCase()))].filter((n) => /^[a-z_][a-z0-9_$]*$/.test(n) && !this.natives.has(n));
    if (!todo.length) return;
    const { conn, reader } = await this.sideConnection(1 << 20);
    const args = new Array(97).fill('NULL').join(',');
    try {
      for (const n of todo) {
        // unquoted, as the statement wrote it: a quoted name (`count`) is looked up as a stored function
        conn.socket.write(encodePacket(0, encodeComQuery(`PREPARE dbw_native_probe FROM 'SELECT ${n}(${args})'`)));
        reader.lastSeq = 0;
        const { payload: p } = await reader.read(5_000);
        const errno = p[0] === PacketHeader.Err ? p.readUInt16LE(1) : 0;
        // 1305: no such function; 1046: no database selected (a stored-function lookup): not native
        if (errno !== 1305 && errno !== 1046) this.natives.add(n);
      }
    } finally {
      conn.socket.end(encodePacket(0, Buffer.from([Command.Quit])));
      setTimeout(() => conn.socket.destroy(), 1000).unref();
    }
  }

  /** A connection of the catalog's own (no database selected, utf8mb4), read packet by packet. */
  private async sideConnection(maxPacket: number): Promise<{ conn: Awaited<ReturnType<typeof connectUpstream>>; reader: PacketReader }> {
    const conn = await connectUpstream({
      ...this.options, database: undefined, attributes: undefined, readSqlMode: false, timeoutMs: this.options.timeoutMs ?? 5000,
      capabilities: Capability.Protocol41 | Capability.SecureConnection | Capability.PluginAuth | Capability.LongPassword | Capability.Transactions,
      mariadbCapabilities: 0, charset: 45,
    });
    const reader = new PacketReader(conn.socket, maxPacket);
    conn.socket.resume();
    return { conn, reader };
  }

  /** reads started so far; `readGen` is the number of the read that made the current snapshot */
  private started = 0;
  private readGen = 0;

  /**
   * A snapshot read entirely after this call (a read already under way may have missed a change), for decisions
   * that trust stored functions' entries (relay functionCheck).
   */
  async fresh(): Promise<void> {
    const need = this.started + 1;
    if (this.loading) await this.loading;
    if (this.readGen < need) await this.refresh();
  }

  /**
   * A fresh read, or no stored-function knowledge at all: when the catalog cannot be read right now, the function
   * entries of the old snapshot (a routine may have been replaced since) are dropped, so every stored function
   * counts as writing until a read succeeds. Fail closed: a broken side connection must not let a read grant's
   * decision trust what could not be re-checked.
   */
  async freshOrNothing(): Promise<void> {
    const need = this.started + 1;
    await this.fresh();
    if (this.readGen < need) this.functions = null;
  }

  refresh(): Promise<MysqlSchema | null> {
    if (!this.loading) {
      this.attemptedAt = Date.now();
      this.started++;
    }
    const gen = this.started;
    this.loading ??= this.read().then(
      (s) => {
        this.snap = s;
        this.readGen = gen;
        this.loading = null;
        return s;
      },
      () => {
        this.loading = null;
        return this.snap;
      },
    );
    return this.loading;
  }

  private async read(): Promise<MysqlSchema> {
    const startedAt = Date.now();
    const { conn, reader } = await this.sideConnection(1 << 30);
    const query = async (sql: string): Promise<string | null> => {
      conn.socket.write(encodePacket(0, encodeComQuery(sql)));
      reader.lastSeq = 0;
      const packets: Buffer[] = [];
      let eofs = 0;
      for (;;) {
        const { payload: p } = await reader.read(10_000);
        packets.push(p);
        if (p[0] === PacketHeader.Err) throw new Error(`catalog read refused: ${decodeErr(p).message}`);
        if (packets.length === 1 && p[0] === PacketHeader.Ok) return null;
        if (p[0] === PacketHeader.Eof && p.length < 9 && ++eofs === 2) break;
      }
      return firstTextValue(packets, false);
    };
    try {
      await query(PREPARE);
      const views = JSON.parse((await query(VIEWS_SQL)) ?? '[]') as [string, string, string | null][];
      const routines = JSON.parse((await query(ROUTINES_SQL)) ?? '[]') as [string, string, string, string | null][];
      const viewRows: MysqlViewRow[] = views.map(([schema, name, definition]) => ({ schema, name, definition: definition || null }));
      const routineRows: MysqlRoutineRow[] = routines.map(([schema, name, type, definition]) => ({ schema, name, type, definition: definition || null }));
      const tables = JSON.parse((await query(TABLES_SQL)) ?? '[]') as string[];
      const fx = JSON.parse((await query(FUNCTION_EFFECTS_SQL)) ?? '[]') as [string, string, string, string, string, string | null][];
      this.functions = new MysqlFunctionCatalog(fx.map(([schema, name, type, dataAccess, security, definition]) => ({ schema, name, type, dataAccess, security, definition })));
      try {
        const columns = JSON.parse((await query(NULLABLE_SQL)) ?? '[]') as [string, string, string][];
        const checks = JSON.parse((await query(CHECKS_SQL)) ?? '[]') as [string, string, string][];
        this.nullable = nullableColumns(columns, checks);
      } catch {
        // a server without these views: nothing is known nullable (`col IS NOT NULL` alone stays not proven scoped)
        this.nullable = new NullableColumns([], true);
      }
      const snap = new MysqlSchema(viewRows, routineRows, startedAt, [], tables);
      snap.onMiss = (key) => this.missed(key);
      return snap;
    } finally {
      conn.socket.end(encodePacket(0, Buffer.from([Command.Quit])));
      setTimeout(() => conn.socket.destroy(), 1000).unref();
    }
  }
}

/** One catalog per upstream address and reading role, shared by every session that reads through it. */
const catalogs = new Map<string, MysqlCatalog>();

export function catalogFor(o: CatalogOptions): MysqlCatalog {
  const key = `${o.host}:${o.port}/${o.user}`;
  let c = catalogs.get(key);
  if (!c) catalogs.set(key, (c = new MysqlCatalog(o)));
  return c;
}

/**
 * Lets a session with masks trace views and stored functions: the snapshot of the target's catalog (read as the
 * `catalog` role when the target names one) is read before the session's first statement is decided.
 */
export async function traceViews(session: Session, base: CatalogOptions, role: { user: string; password?: string }): Promise<void> {
  const catalog = catalogFor({ ...base, user: role.user, password: role.password });
  await catalog.loaded();
  let last: MysqlSchema | null = null;
  let out: MysqlSchema | null = null;
  session.mysqlSchema = () => {
    const s = catalog.current();
    if (s !== last) {
      last = s;
      out = s ? s.withClean(session.guard.clean) : null;
    }
    return out;
  };
}

/**
 * On a read grant: calls to stored functions are decided by the target's catalog (function-effects.ts), read
 * before the session's first statement; while it cannot be read every user function counts as writing.
 */
export async function decideFunctionCalls(session: Session, base: CatalogOptions, role: { user: string; password?: string }): Promise<void> {
  const catalog = catalogFor({ ...base, user: role.user, password: role.password });
  await catalog.loaded();
  const unreadable = new MysqlFunctionCatalog(null);
  const view = (): FunctionCatalogView => {
    catalog.current();
    return catalog.functions ?? unreadable;
  };
  // reading a view runs what its definition calls (a view over a DEFINER function that deletes): decided like the
  // call itself; a view whose definition the reading role may not see is refused (fail closed). Without a
  // snapshot a relation is taken at its word, as on PostgreSQL: failing closed would refuse every read.
  const relationCalls = (n: string): string[] | null => {
    const schema = catalog.current();
    if (!schema) return [];
    return schema.relationCalls(n.includes('.') || !session.database ? n : `${session.database}.${n}`);
  };
  // an unqualified name is native only when the server said so (MysqlCatalog.probeNatives); until then it may be a
  // stored function created since the snapshot: decided by a fresh read and a probe, never taken as a built-in
  // A stored function named like a native one (`count`, `lower` in any schema) does not change what an unqualified
  // call runs: the server resolves it to the native function, so the probe's answer decides, not the snapshot (a
  // `count` routine in some other database made every COUNT(*) a possible write on read grants).
  const builtin = (n: string): boolean => {
    const bare = n.replace(/`/g, '').toLowerCase();
    if (bare.includes('.')) return view().builtin(n);
    return catalog.natives.has(bare);
  };
  /** stored functions (not native ones) a decision trusts: called, or reached through a view it reads */
  const trusted = (statements: readonly StatementFacts[]): string[] => {
    const names = new Set<string>();
    for (const st of statements) {
      for (const f of st.functions) if (!builtin(f)) names.add(f);
      for (const t of st.tables) if (t.op === 'read') for (const f of relationCalls(t.name) ?? []) if (!builtin(f)) names.add(f);
    }
    return [...names];
  };
  // a new object whenever an answer above may change: a new snapshot or stored functions, or names the server
  // confirmed native (lets the session reuse what it derived from them)
  let epochOf: { schema: unknown; fns: unknown; natives: number; epoch: object } | null = null;
  const epoch = (): object | null => {
    const schema = catalog.current();
    const fns = catalog.functions;
    if (!schema || !fns) return null;
    const natives = catalog.natives.size;
    if (!epochOf || epochOf.schema !== schema || epochOf.fns !== fns || epochOf.natives !== natives) epochOf = { schema, fns, natives, epoch: {} };
    return epochOf.epoch;
  };
  // the race between snapshot reads: a routine dropped and created again (or altered) by another connection is
  // decided by a snapshot read after the statement arrived (a new connection and a full read: stored function calls
  // on read grants only; statements reaching only native functions never wait)
  session.functionCatalog = {
    builtin, verdict: (n) => view().verdict(n), relationCalls, trusted, epoch,
    revalidate: async (names) => {
      // unqualified names not yet known to be native: ask the server (a stored function of the same name, in any
      // schema, does not decide it: the native one takes precedence for unqualified calls)
      const unknown = names.filter((n) => !n.includes('.') && !catalog.natives.has(n.replace(/`/g, '').toLowerCase()));
      await Promise.all([catalog.freshOrNothing(), unknown.length ? catalog.probeNatives(unknown).catch(() => undefined) : undefined]);
    },
  };
}

/**
 * Every grant: a write whose WHERE tests columns only for NULL is scoped when the catalog shows one nullable
 * (session.ts nullScoped); the snapshot is read before the session's first statement is decided.
 */
export async function decideNullScopes(session: Session, base: CatalogOptions, role: { user: string; password?: string }): Promise<void> {
  const catalog = catalogFor({ ...base, user: role.user, password: role.password });
  await catalog.loaded();
  session.columnNullable = (table, column) => {
    catalog.current();
    return catalog.nullable?.nullable(table, column) ?? false;
  };
}
