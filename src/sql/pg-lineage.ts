// PostgreSQL column lineage: for each output column of a statement, the base columns its value can derive
// from (through aliases, alias lists, joins, subqueries, CTEs, set operations, views and SQL function
// bodies), and every place a value leaves the result stream (copied into a table, exported, stored in
// session state, sent as a notification). "Unknown" is an explicit member of a source set.
//
// Security: masking by column *names in the text* is defeated by renaming (`FROM t u(a, b)`, `AS e`, a view
// or a function that returns the column under another name). Lineage follows values, not names, and every
// place it cannot follow (a relation or function it cannot read) yields UNKNOWN, which the mask plan treats
// as masked (fail closed).
import { parseSync } from 'libpg-query';
import type { AstNode as Ast } from './ast.js';
import { plpgsqlStatements } from './pg-plpgsql.js';

// libpg-query's AST is JSON walked by node name

/** The member of a source set meaning "could be anything". */
export const UNKNOWN = '?';
/**
 * Marks a source set whose value is computed from its sources rather than being one of them (an expression, a
 * function's result, a VALUES item): the mask plan redacts such values whole (rules/mask.ts derivedMask).
 */
export const DERIVED = '\u0000derived';
/**
 * Marks, inside a function body, a value that comes from the function's caller (a parameter): a sink of the body
 * that carries it carries whatever the caller passes (functionSrc substitutes the call's arguments).
 */
export const PARAM = '\u0000param';
/** A set of base columns (schema.table.column), possibly containing UNKNOWN, DERIVED and PARAM. */
export type Src = Set<string>;

export interface LineageRelation {
  /** column names in attribute order */
  columns: string[];
  /** base sources of column i (a table's own column, or what a view column derives from) */
  source(i: number): Src;
  /** system catalogs: any column name resolves, to no source */
  open?: boolean;
  view?: boolean;
}

export type LineageFunction =
  | { kind: 'builtin' }
  | { kind: 'clean' }
  /** a body the broker read: what its result derives from and what it writes elsewhere */
  | { kind: 'body'; result: Src; sinks: Src };

export interface LineageSchema {
  /** undefined: not known (fail closed) */
  relation(schema: string | null, name: string): LineageRelation | undefined;
  /** undefined: not known (fail closed) */
  func(schema: string | null, name: string): LineageFunction | undefined;
  /** false when an operator of that name is user-defined (its function is not traced: unknown) */
  builtinOperator?(name: string): boolean;
  /**
   * false when the schema knows no functions at all (no catalog read yet): a function it cannot name is then not
   * taken for a user routine whose body may store its arguments
   */
  knowsFunctions?: boolean;
  /** true when a cast to the named type may run user code (domain CHECK, user-defined cast or input function) */
  userType?(schema: string | null, name: string): boolean;
}

export interface Sink {
  /** what moves the values: INSERT, UPDATE, MERGE, COPY, CREATE TABLE AS, SELECT INTO, set_config, … */
  what: string;
  src: Src;
  /** moved by a function call (which the planner may run while planning, EXPLAIN included) */
  call?: boolean;
}

export interface StatementLineage {
  /** the result columns of the statement (SELECT list, RETURNING, a cursor's query), null when it has none */
  outputs: Src[] | null;
  /** false when `*` over a relation of unknown shape made positions uncertain */
  exact: boolean;
  sinks: Sink[];
  /** functions that return whole tables by name (table_to_xml, …) */
  tableReaders: string[];
  /** statistics relations (pg_stats, …) read: they show the contents of the columns they describe */
  statistics: string[];
  /** DECLARE CURSOR: the cursor name (its FETCH results carry `outputs`) */
  cursor?: string;
  /** FETCH/MOVE: the cursor whose rows come back */
  fetch?: string;
  /** CLOSE: the cursor closed (null: CLOSE ALL) */
  close?: string | null;
}

/** The sink (`what`) of a text the parser refused, and of a statement whose tree this module cannot read. */
export const UNPARSED = 'unparsed statement';
export const UNANALYSED = 'statement analysis';

/** Functions that read a table (or a query, or a cursor) by name and return its rows. */
export const TABLE_READERS = new Set([
  'table_to_xml', 'table_to_xmlschema', 'table_to_xml_and_xmlschema', 'query_to_xml', 'query_to_xmlschema', 'query_to_xml_and_xmlschema',
  'cursor_to_xml', 'cursor_to_xmlschema', 'schema_to_xml', 'schema_to_xmlschema', 'schema_to_xml_and_xmlschema',
  'database_to_xml', 'database_to_xmlschema', 'database_to_xml_and_xmlschema',
]);

/**
 * Functions that store or send their argument values outside the result (session state, notifications, …).
 * Advisory locks keep their key where any session reads it back (`pg_locks.classid/objid`, 64 bits per
 * call: `pg_advisory_lock(ascii(email))` then `SELECT objid FROM pg_locks` returned the code point through the
 * broker); `setseed` fixes what `random()` returns next (a seed from a masked value is recovered by trying the
 * candidates); `setval` stores its value in a sequence read back by `currval`/`last_value`; `lo_create(oid)`
 * makes a large object whose OID is the value (listed in `pg_largeobject_metadata`).
 */
const SINK_FUNCTIONS = new Set([
  'set_config', 'pg_notify', 'lo_from_bytea', 'lo_put', 'lowrite', 'pg_logical_emit_message', 'dblink', 'dblink_exec',
  'dblink_send_query', 'dblink_open', 'pg_file_write', 'pg_catalog.set_config',
  'pg_advisory_lock', 'pg_advisory_lock_shared', 'pg_advisory_xact_lock', 'pg_advisory_xact_lock_shared',
  'pg_try_advisory_lock', 'pg_try_advisory_lock_shared', 'pg_try_advisory_xact_lock', 'pg_try_advisory_xact_lock_shared',
  'pg_advisory_unlock', 'pg_advisory_unlock_shared', 'setseed', 'setval', 'lo_create',
]);

/** Statistics relations: their values are samples of other columns. */
export const STATISTICS_RELATIONS = new Set(['pg_stats', 'pg_stats_ext', 'pg_stats_ext_exprs', 'pg_statistic', 'pg_statistic_ext_data']);

const RELATION_RENAMES = new Set(['OBJECT_TABLE', 'OBJECT_VIEW', 'OBJECT_MATVIEW', 'OBJECT_FOREIGN_TABLE']);

const SYSTEM_COLUMNS = new Set(['ctid', 'xmin', 'xmax', 'cmin', 'cmax', 'tableoid', 'oid']);

interface Col {
  name: string;
  src: Src;
}
interface Item {
  alias: string | null;
  cols: Col[];
  /** source of a column not listed (relations of unknown shape): every name resolves to it */
  open?: Src;
}
interface Scope {
  items: Item[];
  parent: Scope | null;
  ctes: Map<string, Item>;
}
interface Ctx {
  schema: LineageSchema;
  sinks: Sink[];
  tableReaders: Set<string>;
  statistics: Set<string>;
  /** inside a function body: names that resolve nowhere are the function's parameters */
  body: boolean;
  depth: number;
  /** what the user routines (and user operators) called can return: the planner may fold their calls into constants */
  calls: Src;
}
interface Rel {
  cols: Col[];
  exact: boolean;
}

const unknown = (): Src => new Set([UNKNOWN]);
function union(...sets: (Src | undefined)[]): Src {
  const out = new Set<string>();
  for (const s of sets) if (s) for (const x of s) out.add(x);
  return out;
}
function addAll(into: Src, from: Src | undefined): void {
  if (from) for (const x of from) into.add(x);
}

/** Lineage of every statement in `text` (parse errors: one statement whose outputs and sinks are unknown). */
export function pgLineage(text: string, schema: LineageSchema, opts: { body?: boolean } = {}): StatementLineage[] {
  let stmts: Ast[];
  try {
    stmts = (parseSync(text) as Ast).stmts ?? [];
  } catch {
    return [{ outputs: null, exact: false, sinks: [{ what: UNPARSED, src: unknown() }], tableReaders: [], statistics: [] }];
  }
  return stmts.map((s: Ast) => statementLineage(s.stmt, schema, opts.body ?? false, 0));
}

export function statementLineage(node: Ast, schema: LineageSchema, body: boolean, depth: number): StatementLineage {
  const ctx: Ctx = { schema, sinks: [], tableReaders: new Set(), statistics: new Set(), body, depth, calls: new Set() };
  const out: StatementLineage = { outputs: null, exact: true, sinks: ctx.sinks, tableReaders: [], statistics: [] };
  try {
    const r = stmt(node, { items: [], parent: null, ctes: new Map() }, ctx);
    if (r) {
      out.outputs = r.cols.map((c) => c.src);
      out.exact = r.exact;
    }
    if (node?.DeclareCursorStmt) out.cursor = String(node.DeclareCursorStmt.portalname ?? '');
    if (node?.FetchStmt) out.fetch = String(node.FetchStmt.portalname ?? '');
    if (node?.ClosePortalStmt) out.close = node.ClosePortalStmt.portalname === undefined ? null : String(node.ClosePortalStmt.portalname);
  } catch {
    // an AST shape this module does not know: nothing it says can be trusted
    out.outputs = null;
    out.exact = false;
    ctx.sinks.push({ what: UNANALYSED, src: unknown() });
  }
  out.tableReaders = [...ctx.tableReaders];
  out.statistics = [...ctx.statistics];
  return out;
}

/**
 * The keys of the statement nodes this module reads, as the parser (libpg-query) names them. Security: the AST changes
 * between parser versions (17 → 18 renamed `returningList` to `returningClause`, and RETURNING went untraced); a
 * statement node with a key not listed is a shape this module has not been taught, so its lineage is unknown and
 * everything it could move is refused or redacted (fail closed), instead of silently skipping the new part.
 */
const KNOWN_KEYS: Record<string, ReadonlySet<string>> = {
  SelectStmt: new Set(['distinctClause', 'intoClause', 'targetList', 'fromClause', 'whereClause', 'groupClause', 'groupDistinct', 'havingClause',
    'windowClause', 'valuesLists', 'sortClause', 'limitOffset', 'limitCount', 'limitOption', 'lockingClause', 'withClause', 'op', 'all', 'larg', 'rarg']),
  InsertStmt: new Set(['relation', 'cols', 'selectStmt', 'onConflictClause', 'returningClause', 'withClause', 'override']),
  UpdateStmt: new Set(['relation', 'targetList', 'whereClause', 'fromClause', 'returningClause', 'withClause']),
  DeleteStmt: new Set(['relation', 'usingClause', 'whereClause', 'returningClause', 'withClause']),
  MergeStmt: new Set(['relation', 'sourceRelation', 'joinCondition', 'mergeWhenClauses', 'returningClause', 'withClause']),
  CopyStmt: new Set(['relation', 'query', 'attlist', 'is_from', 'is_program', 'filename', 'options', 'whereClause']),
  DeclareCursorStmt: new Set(['portalname', 'options', 'query']),
  FetchStmt: new Set(['direction', 'howMany', 'portalname', 'ismove']),
};

function knownShape(type: string, s: Ast): void {
  const keys = KNOWN_KEYS[type];
  if (!keys || s === null || typeof s !== 'object') return;
  for (const k in s) if (!keys.has(k)) throw new Error(`${type}.${k} is not traced`);
}

/** One statement node; returns its result columns (if it has a result). */
function stmt(node: Ast, scope: Scope, ctx: Ctx): Rel | null {
  const type = Object.keys(node ?? {})[0];
  if (type === undefined) return null;
  const s = node[type] ?? {};
  knownShape(type, s);
  switch (type) {
    case 'SelectStmt': {
      const r = select(s, scope, ctx);
      if (s.intoClause) ctx.sinks.push({ what: 'SELECT INTO', src: union(...r.cols.map((c) => c.src)) });
      return r;
    }
    case 'InsertStmt': {
      const inner = withCtes(s.withClause, scope, ctx);
      const target = relationItem(s.relation, inner, ctx);
      let src: Src = new Set();
      if (s.selectStmt) {
        const r = stmt(s.selectStmt, inner, ctx);
        src = union(...(r?.cols ?? []).map((c) => c.src));
        ctx.sinks.push({ what: 'INSERT', src });
      }
      // ON CONFLICT DO UPDATE SET x = excluded.y: excluded carries the inserted values. Security: traced whatever the
      // inserted rows are — with DEFAULT VALUES there is no selectStmt, and `ON CONFLICT (id) DO UPDATE SET note =
      // (SELECT email …)` copied an email into a clean column untraced.
      const excluded: Item = { alias: 'excluded', cols: [], open: src };
      const conflictScope: Scope = { items: [target, excluded], parent: inner, ctes: new Map() };
      const oc = s.onConflictClause;
      if (oc?.targetList) ctx.sinks.push({ what: 'INSERT … ON CONFLICT', src: targetListSrc(oc.targetList, conflictScope, ctx) });
      if (oc?.whereClause) expr(oc.whereClause, conflictScope, ctx);
      if (oc?.infer) expr(oc.infer, conflictScope, ctx);
      return returning(returningList(s), { items: [target], parent: inner, ctes: new Map() }, ctx);
    }
    case 'UpdateStmt': {
      const inner = withCtes(s.withClause, scope, ctx);
      const items = [relationItem(s.relation, inner, ctx)];
      const from = fromItems(s.fromClause, inner, ctx);
      const sc: Scope = { items: [...items, ...from], parent: inner, ctes: new Map() };
      ctx.sinks.push({ what: 'UPDATE', src: targetListSrc(s.targetList, sc, ctx) });
      if (s.whereClause) expr(s.whereClause, sc, ctx);
      return returning(returningList(s), sc, ctx);
    }
    case 'DeleteStmt': {
      const inner = withCtes(s.withClause, scope, ctx);
      const items = [relationItem(s.relation, inner, ctx), ...fromItems(s.usingClause, inner, ctx)];
      const sc: Scope = { items, parent: inner, ctes: new Map() };
      if (s.whereClause) expr(s.whereClause, sc, ctx);
      return returning(returningList(s), sc, ctx);
    }
    case 'MergeStmt': {
      const inner = withCtes(s.withClause, scope, ctx);
      const items = [relationItem(s.relation, inner, ctx), ...fromItems([s.sourceRelation], inner, ctx)];
      const sc: Scope = { items, parent: inner, ctes: new Map() };
      expr(s.joinCondition, sc, ctx);
      const src = new Set<string>();
      for (const w of s.mergeWhenClauses ?? []) {
        const m = w?.MergeWhenClause ?? {};
        addAll(src, targetListSrc(m.targetList, sc, ctx));
        for (const v of m.values ?? []) addAll(src, expr(v, sc, ctx));
        if (m.condition) expr(m.condition, sc, ctx);
      }
      ctx.sinks.push({ what: 'MERGE', src });
      return returning(returningList(s), sc, ctx);
    }
    case 'CopyStmt': {
      if (s.is_from) {
        if (s.whereClause) expr(s.whereClause, { items: [relationItem(s.relation, scope, ctx)], parent: scope, ctes: new Map() }, ctx);
        return null;
      }
      let src: Src;
      if (s.query) src = union(...(stmt(s.query, scope, ctx)?.cols ?? []).map((c) => c.src));
      else {
        const item = relationItem(s.relation, scope, ctx);
        const names: string[] = (s.attlist ?? []).map((a: Ast) => String(a?.String?.sval ?? ''));
        src = names.length ? union(...names.map((n) => resolveIn([item], n) ?? unknown())) : union(item.open, ...item.cols.map((c) => c.src));
      }
      ctx.sinks.push({ what: 'COPY', src });
      return null;
    }
    case 'CreateTableAsStmt': {
      const q = s.query;
      const r = q?.ExecuteStmt ? null : stmt(q, scope, ctx);
      ctx.sinks.push({ what: 'CREATE TABLE AS', src: r ? union(...r.cols.map((c) => c.src)) : unknown() });
      return null;
    }
    case 'DeclareCursorStmt':
      return stmt(s.query, scope, ctx);
    case 'PrepareStmt': {
      // EXECUTE of a prepared statement carries no text to trace: its values count as leaving unmasked
      const r = stmt(s.query, scope, ctx);
      ctx.sinks.push({ what: 'PREPARE', src: union(...(r?.cols ?? []).map((c) => c.src)) });
      return null;
    }
    case 'ExplainStmt': {
      // Security: planning runs code. The planner folds an immutable function of constants into its result, so the
      // plan prints it (`EXPLAIN VERBOSE SELECT f(1)` with f returning a user's email showed `Output: '<email>'::text`)
      // and runs what f does (`set_config('x', (SELECT email …), false)` in f stored the email, read back by
      // current_setting). Without ANALYZE the statement's own writes do not run, but its calls' sinks count; the plan
      // text carries what the called routines may return (redacted whole when that is masked or unknown).
      const analyze = (s.options ?? []).some((o: Ast) => o?.DefElem?.defname === 'analyze');
      const from = ctx.sinks.length;
      const outer = ctx.calls;
      ctx.calls = new Set();
      stmt(s.query, scope, ctx);
      const calls = ctx.calls;
      ctx.calls = outer;
      addAll(outer, calls);
      if (!analyze) {
        const kept = ctx.sinks.slice(from).filter((x) => x.call);
        ctx.sinks.splice(from, ctx.sinks.length - from, ...kept);
      }
      return { cols: [{ name: 'QUERY PLAN', src: union(calls, new Set([DERIVED])) }], exact: true };
    }
    case 'RuleStmt': {
      // a rule's actions run later, inside other statements, where no lineage sees them
      for (const a of s.actions ?? []) {
        const r = stmt(a, scope, ctx);
        ctx.sinks.push({ what: 'CREATE RULE', src: union(...(r?.cols ?? []).map((c) => c.src)) });
      }
      return null;
    }
    case 'RenameStmt':
    case 'AlterObjectSchemaStmt': {
      // a masked column under a new column, table or schema name no longer matches its mask rule's globs
      if (!s.relation) {
        expr(s, scope, ctx);
        return null;
      }
      const item = relationItem(s.relation, scope, ctx);
      if (type === 'RenameStmt' && s.renameType === 'OBJECT_COLUMN') ctx.sinks.push({ what: 'RENAME COLUMN', src: resolveIn([item], String(s.subname ?? '')) ?? unknown() });
      else if (type === 'AlterObjectSchemaStmt' || RELATION_RENAMES.has(String(s.renameType))) ctx.sinks.push({ what: 'RENAME', src: wholeRow(item) });
      return null;
    }
    case 'AlterTableStmt': {
      // USING expressions, generated columns and CHECK constraints read the table's columns into new places
      const item = relationItem(s.relation, scope, ctx);
      const src = expr(s.cmds, { items: [item], parent: scope, ctes: new Map() }, ctx);
      if (src.size) ctx.sinks.push({ what: 'ALTER TABLE', src });
      return null;
    }
    case 'CreateTrigStmt': {
      // Security: a trigger function gets every column of the row (NEW/OLD) where no lineage follows it: a PL/pgSQL
      // body `INSERT INTO sink VALUES (NEW.id, NEW.email)` reads NEW as one of its own variables, so its creation was
      // allowed, and `UPDATE users SET name = name WHERE id = 1` then copied the email into a clean table. A trigger
      // on a relation with masked (or unknown) columns moves those values like a rule does.
      const item = relationItem(s.relation, scope, ctx);
      ctx.sinks.push({ what: 'CREATE TRIGGER', src: wholeRow(item) });
      if (s.whenClause) expr(s.whenClause, { items: [item], parent: scope, ctes: new Map() }, ctx);
      return null;
    }
    case 'CreateStmt':
    case 'CreateDomainStmt': {
      // Security: DEFAULT and GENERATED expressions are stored now and evaluated into rows later, where no lineage
      // follows: `CREATE TABLE x (id int, n text DEFAULT f(1), g text GENERATED ALWAYS AS (f(id)) STORED)` with f
      // returning a user's email filled clean-named columns with it on a plain INSERT. The expressions' sources count
      // as moved (the new table's own columns, which its expressions may name, are clean).
      const own: Col[] = type === 'CreateDomainStmt' ? [{ name: 'value', src: new Set<string>() }] : (s.tableElts ?? []).filter((e: Ast) => e?.ColumnDef).map((e: Ast) => ({ name: String(e.ColumnDef.colname ?? ''), src: new Set<string>() }));
      const src = expr([s.tableElts, s.constraints, s.nnconstraints, s.partbound, s.partspec], { items: [{ alias: null, cols: own }], parent: scope, ctes: new Map() }, ctx);
      if (s.inhRelations || s.ofTypename) expr([s.inhRelations], scope, ctx);
      if (src.size) ctx.sinks.push({ what: type === 'CreateStmt' ? 'CREATE TABLE' : 'CREATE DOMAIN', src });
      return null;
    }
    case 'CreateFunctionStmt':
      // A new definition reads nothing now; its body is traced where it is used. A replaced one is already in use,
      // also where no lineage follows: a column DEFAULT, a generated column, a trigger. Security: `ALTER TABLE sink
      // ALTER note SET DEFAULT f()` with a clean f, then `CREATE OR REPLACE FUNCTION f() … 'SELECT email …'`, and
      // every plain INSERT stored an email in the clean column. What a replacing body returns or stores moves.
      if (s.replace) ctx.sinks.push({ what: 'CREATE OR REPLACE FUNCTION', src: replacedBodySources(s, ctx) });
      return null;
    case 'RefreshMatViewStmt': {
      // Security: the stored rows are recomputed from the definition as it reads now, through views that may have
      // been redefined since the materialized view was created; they move into it like CREATE TABLE AS
      const item = relationItem(s.relation, scope, ctx);
      ctx.sinks.push({ what: 'REFRESH MATERIALIZED VIEW', src: wholeRow(item) });
      return null;
    }
    case 'ViewStmt':
      // definitions read nothing now; their bodies are traced where they are used
      return null;
    case 'CallStmt':
      if (s.funccall) expr({ FuncCall: s.funccall }, scope, ctx);
      return null;
    case 'ExecuteStmt':
      // the prepared query is re-planned when the objects under it change: its result is not traced
      for (const p of s.params ?? []) expr(p, scope, ctx);
      return { cols: [], exact: false };
    default:
      // any other statement: expressions inside (DEFAULT values, generated columns, SET values …) are traced
      // for table readers and sinks; statements nested in it are statements of their own
      expr(s, scope, ctx);
      return null;
  }
}

/**
 * What a CREATE OR REPLACE FUNCTION's new body returns or stores: SQL bodies (quoted or BEGIN ATOMIC) and PL/pgSQL
 * bodies (their embedded statements) are traced; any other language is unknown (fail closed).
 */
function replacedBodySources(s: Ast, ctx: Ctx): Src {
  const option = (name: string): Ast | undefined => (s.options ?? []).find((o: Ast) => o?.DefElem?.defname === name)?.DefElem?.arg;
  const language = String(option('language')?.String?.sval ?? (s.sql_body !== undefined ? 'sql' : '')).toLowerCase();
  const asItems: Ast[] = option('as')?.List?.items ?? [];
  const body = asItems.length === 1 ? String(asItems[0]?.String?.sval ?? '') : undefined;
  let stmts: Ast[] | undefined;
  try {
    if (language === 'sql') {
      stmts = sqlBodyStatements(s);
    } else if (language === 'plpgsql' && body !== undefined && !body.includes('$dbw_body$')) {
      // the PL/pgSQL reader needs the return type (a trigger function's body names NEW and OLD)
      const names: Ast[] = s.returnType?.names ?? [];
      const returns = String(names[names.length - 1]?.String?.sval ?? 'void').replace(/[^A-Za-z0-9_]/g, '');
      const texts = plpgsqlStatements(`CREATE FUNCTION dbw_body() RETURNS ${s.returnType?.setof ? 'SETOF ' : ''}${returns || 'void'} LANGUAGE plpgsql AS $dbw_body$${body}$dbw_body$`);
      // a trigger function reads the row of whatever table its triggers are on (unknown here): a body that reads NEW
      // or OLD may move any column of it, masked ones included (fail closed)
      if (returns.toLowerCase() === 'trigger' && texts?.some((t) => /\b(new|old)\b/i.test(t.replace(/'(?:[^']|'')*'/g, "''")))) return unknown();
      stmts = texts?.flatMap((t) => ((parseSync(t) as Ast).stmts ?? []).map((x: Ast) => x.stmt));
    }
  } catch {
    stmts = undefined;
  }
  if (!stmts) return unknown();
  const { result, sinks } = bodyLineage(stmts, ctx.schema);
  const src = union(result, sinks);
  src.delete(PARAM);
  return src;
}

/**
 * The RETURNING expressions of an INSERT/UPDATE/DELETE/MERGE node. Security: libpg-query 18 moved them from
 * `returningList` to `returningClause.exprs`; read under the old key only, `UPDATE … RETURNING lower(email)` (and a
 * `set_config(…, email, …)` in RETURNING) went untraced and came back in clear. `RETURNING WITH (OLD AS o, NEW AS n)`
 * names rows this module does not model: unknown (fail closed).
 */
function returningList(s: Ast): Ast[] | undefined {
  const rc = s.returningClause;
  if (rc?.options?.length) throw new Error('RETURNING WITH options are not traced');
  return rc?.exprs ?? s.returningList;
}

function returning(list: Ast[] | undefined, scope: Scope, ctx: Ctx): Rel | null {
  if (!list?.length) return null;
  return targetList(list, scope, ctx);
}

function targetListSrc(list: Ast[] | undefined, scope: Scope, ctx: Ctx): Src {
  const out = new Set<string>();
  for (const t of list ?? []) addAll(out, expr(t?.ResTarget?.val ?? t, scope, ctx));
  return out;
}

function withCtes(w: Ast, scope: Scope, ctx: Ctx): Scope {
  if (!w?.ctes?.length) return scope;
  const inner: Scope = { items: [], parent: scope, ctes: new Map() };
  // Security: WITH RECURSIVE lets a CTE name one defined after it; read in order, that name fell through to a relation
  // of the same name (`pg_class`, a clean table). Every name of the list stands first for an unknown relation.
  if (w.recursive) for (const c of w.ctes) if (c?.CommonTableExpr) inner.ctes.set(String(c.CommonTableExpr.ctename), { alias: String(c.CommonTableExpr.ctename), cols: [], open: unknown() });
  for (const c of w.ctes) {
    const cte = c?.CommonTableExpr;
    if (!cte) continue;
    const name = String(cte.ctename);
    const rename: string[] = (cte.aliascolnames ?? []).map((a: Ast) => String(a?.String?.sval ?? ''));
    const q = cte.ctequery;
    let rel: Rel | null = null;
    if (w.recursive && q?.SelectStmt && q.SelectStmt.op && q.SelectStmt.op !== 'SETOP_NONE') {
      // recursive: start from the non-recursive term, then widen until the sources stop growing
      // Security: a value moves one column per round (`SELECT f, a, b, c, d, e … FROM r` rotates the email from a to f
      // in five rounds); stopped after four rounds, the sixth column was traced clean. Widen until nothing grows; a
      // term still growing after the bound makes every column unknown (fail closed).
      rel = select(q.SelectStmt.larg, inner, ctx);
      let settled = false;
      for (let i = 0; i < 64 && !settled; i++) {
        inner.ctes.set(name, { alias: name, cols: renamed(rel.cols, rename) });
        const next = select(q.SelectStmt, inner, ctx);
        settled = next.cols.length === rel.cols.length && next.cols.every((c, k) => c.src.size === rel!.cols[k]!.src.size);
        rel = next;
      }
      if (!settled) rel = { cols: rel.cols.map((c) => ({ name: c.name, src: unknown() })), exact: rel.exact };
    } else {
      rel = stmt(q, inner, ctx);
    }
    inner.ctes.set(name, { alias: name, cols: renamed(rel?.cols ?? [], rename), ...(rel ? {} : { open: unknown() }) });
  }
  return inner;
}

function renamed(cols: Col[], names: string[]): Col[] {
  return cols.map((c, i) => ({ name: names[i] ?? c.name, src: c.src }));
}

function select(s: Ast, outer: Scope, ctx: Ctx): Rel {
  knownShape('SelectStmt', s);
  if (++ctx.depth > 200) throw new Error('statement nested too deeply');
  try {
    const scope = withCtes(s.withClause, outer, ctx);
    if (s.op && s.op !== 'SETOP_NONE') {
      const l = select(s.larg, scope, ctx);
      const r = select(s.rarg, scope, ctx);
      return { cols: l.cols.map((c, i) => ({ name: c.name, src: union(c.src, r.cols[i]?.src ?? (r.exact ? undefined : unknown())) })), exact: l.exact && r.exact && l.cols.length === r.cols.length };
    }
    if (s.valuesLists) {
      const cols: Col[] = [];
      for (const row of s.valuesLists) {
        const items: Ast[] = row?.List?.items ?? [];
        items.forEach((v, i) => {
          cols[i] ??= { name: `column${i + 1}`, src: new Set() };
          addAll(cols[i]!.src, expr(v, scope, ctx));
          if (!v?.ColumnRef) cols[i]!.src.add(DERIVED);
        });
      }
      return { cols, exact: true };
    }
    const items = fromItems(s.fromClause, scope, ctx);
    const sc: Scope = { items, parent: scope, ctes: new Map() };
    for (const k of ['whereClause', 'havingClause', 'groupClause', 'sortClause', 'windowClause', 'distinctClause', 'limitCount', 'limitOffset']) {
      if (!s[k]) continue;
      const src = expr(s[k], sc, ctx);
      if (k === 'limitCount' || k === 'limitOffset') countsRows(src, k === 'limitCount' ? 'LIMIT' : 'OFFSET', ctx);
    }
    return targetList(s.targetList ?? [], sc, ctx);
  } finally {
    ctx.depth--;
  }
}

/** Built-in set-returning functions: in a select list each one multiplies the rows by what it returns. */
const SET_RETURNING = new Set(['generate_series', 'generate_subscripts', 'unnest', 'regexp_matches', 'regexp_split_to_table',
  'string_to_table', 'json_array_elements', 'json_array_elements_text', 'jsonb_array_elements', 'jsonb_array_elements_text',
  'json_each', 'json_each_text', 'jsonb_each', 'jsonb_each_text', 'json_object_keys', 'jsonb_object_keys', 'jsonb_path_query',
  'json_populate_recordset', 'jsonb_populate_recordset', 'json_to_recordset', 'jsonb_to_recordset', 'pg_get_keywords']);

/**
 * Security: a value that decides how many rows come back is read back from the count, whatever the rows hold:
 * `… LATERAL generate_series(1, ascii(substr(email, i, 1))) g GROUP BY i` with `count(*)` returned each character
 * of an email as a row count, in one statement. The arguments of a built-in set-returning function (in FROM or in
 * the select list) and LIMIT/OFFSET expressions count as leaving unmasked (mask-or-block) when they carry a column's
 * value. A user function's body is traced where it is called (its own generators carry the caller's arguments);
 * sources the broker cannot trace are masked where they surface as values.
 */
function argsSrc(fc: Ast, scope: Scope, ctx: Ctx): Src {
  const out = new Set<string>();
  for (const a of fc.args ?? []) addAll(out, expr(a, scope, ctx));
  return out;
}

function countsRows(src: Src, what: string, ctx: Ctx): void {
  const counted = new Set([...src].filter((x) => x !== UNKNOWN && x !== DERIVED));
  if (counted.size) ctx.sinks.push({ what: `the row count of ${what}`, src: counted });
}

function targetList(list: Ast[], scope: Scope, ctx: Ctx): Rel {
  const cols: Col[] = [];
  let exact = true;
  for (const t of list) {
    const rt = t?.ResTarget ?? {};
    const v = rt.val;
    const fields: Ast[] | undefined = v?.ColumnRef?.fields;
    if (fields && fields[fields.length - 1]?.A_Star !== undefined) {
      const qual = fields.length > 1 ? String(fields[fields.length - 2]?.String?.sval ?? '') : null;
      const items = qual === null ? scope.items : findItems(scope, qual);
      if (!items.length) {
        cols.push({ name: '*', src: unknown() });
        exact = false;
      }
      for (const it of items) {
        for (const c of it.cols) cols.push(c);
        if (it.open) {
          cols.push({ name: '*', src: it.open });
          exact = false;
        }
      }
      continue;
    }
    const name = rt.name ?? (fields ? String(fields[fields.length - 1]?.String?.sval ?? '?column?') : '?column?');
    const src = expr(v, scope, ctx);
    if (v?.FuncCall && SET_RETURNING.has(funcName(v.FuncCall)?.name ?? '')) countsRows(argsSrc(v.FuncCall, scope, ctx), `${funcName(v.FuncCall)!.name}() in the select list`, ctx);
    // only a plain column reference passes a value as it is; anything else computes a new one
    if (!fields) src.add(DERIVED);
    cols.push({ name, src });
  }
  return { cols, exact };
}

function fromItems(list: Ast[] | undefined, scope: Scope, ctx: Ctx): Item[] {
  const out: Item[] = [];
  // LATERAL items see the items before them
  const sc: Scope = { items: out, parent: scope, ctes: new Map() };
  for (const n of list ?? []) out.push(...fromItem(n, sc, ctx));
  return out;
}

function aliasOf(a: Ast): { name: string | null; cols: string[] } {
  return { name: a?.aliasname ?? null, cols: (a?.colnames ?? []).map((c: Ast) => String(c?.String?.sval ?? '')) };
}

function fromItem(n: Ast, scope: Scope, ctx: Ctx): Item[] {
  if (n?.RangeVar) return [relationItem(n.RangeVar, scope, ctx)];
  if (n?.RangeSubselect) {
    const r = stmt(n.RangeSubselect.subquery, scope, ctx);
    const a = aliasOf(n.RangeSubselect.alias);
    return [{ alias: a.name, cols: renamed(r?.cols ?? [], a.cols), ...(r && r.exact ? {} : { open: r ? union(...r.cols.map((c) => c.src)) : unknown() }) }];
  }
  if (n?.JoinExpr) {
    const j = n.JoinExpr;
    const left = fromItem(j.larg, scope, ctx);
    const right = fromItem(j.rarg, { items: [...scope.items, ...left], parent: scope.parent, ctes: scope.ctes }, ctx);
    const both = [...left, ...right];
    if (j.quals) expr(j.quals, { items: both, parent: scope, ctes: new Map() }, ctx);
    const a = aliasOf(j.alias);
    const using: string[] = (j.usingClause ?? []).map((u: Ast) => String(u?.String?.sval ?? ''));
    if (j.isNatural) {
      const lnames = new Set(left.flatMap((i) => i.cols.map((c) => c.name)));
      for (const c of right.flatMap((i) => i.cols)) if (lnames.has(c.name) && !using.includes(c.name)) using.push(c.name);
    }
    // the merged USING/NATURAL columns carry either side's value
    const merged: Col[] = using.map((name) => ({ name, src: union(resolveIn(left, name), resolveIn(right, name)) }));
    const joinAlias = j.join_using_alias?.aliasname;
    const extra: Item[] = joinAlias ? [{ alias: joinAlias, cols: merged }] : [];
    if (a.name === null) return [...(merged.length ? [{ alias: null, cols: merged }] : []), ...both, ...extra];
    const rest = both.flatMap((i) => i.cols).filter((c) => !using.includes(c.name));
    const open = both.some((i) => i.open) ? union(...both.map((i) => i.open)) : undefined;
    return [{ alias: a.name, cols: renamed([...merged, ...rest], a.cols), ...(open ? { open } : {}) }];
  }
  if (n?.RangeFunction) {
    const rf = n.RangeFunction;
    const src = new Set<string>();
    const names: string[] = [];
    // a set-returning function's columns are whatever it computes
    src.add(DERIVED);
    for (const f of rf.functions ?? []) {
      const items: Ast[] = f?.List?.items ?? [];
      const fsrc = expr(items[0], scope, ctx);
      addAll(src, fsrc);
      const fc = items[0]?.FuncCall;
      if (fc && SET_RETURNING.has(funcName(fc)?.name ?? '')) countsRows(argsSrc(fc, scope, ctx), `${funcName(fc)!.name}() in FROM`, ctx);
      for (const d of items[1]?.List?.items ?? []) names.push(String(d?.ColumnDef?.colname ?? ''));
    }
    for (const d of rf.coldeflist ?? []) names.push(String(d?.ColumnDef?.colname ?? ''));
    const a = aliasOf(rf.alias);
    const cols = (a.cols.length ? a.cols : names).map((name) => ({ name, src }));
    const fname = funcName(rf.functions?.[0]?.List?.items?.[0]?.FuncCall);
    return [{ alias: a.name ?? fname?.name ?? null, cols, open: src }];
  }
  if (n?.RangeTableSample) return fromItem(n.RangeTableSample.relation, scope, ctx).map((i) => ({ ...i, ...(n.RangeTableSample.alias ? { alias: aliasOf(n.RangeTableSample.alias).name } : {}) }));
  // XMLTABLE, JSON_TABLE and anything newer: every column may carry anything its inputs carry
  const anyNode = n ? n[Object.keys(n)[0] ?? ''] : undefined;
  const src = union(expr(anyNode, scope, ctx), unknown());
  return [{ alias: anyNode?.alias ? aliasOf(anyNode.alias).name : null, cols: [], open: src }];
}

function relationItem(rv: Ast, scope: Scope, ctx: Ctx): Item {
  const relname = String(rv?.relname ?? '');
  const schema: string | null = rv?.schemaname ?? null;
  const a = aliasOf(rv?.alias);
  const alias = a.name ?? relname;
  if (schema === null) {
    for (let s: Scope | null = scope; s; s = s.parent) {
      const cte = s.ctes.get(relname);
      if (cte) return { alias, cols: renamed(cte.cols, a.cols), ...(cte.open ? { open: cte.open } : {}) };
    }
  }
  if (STATISTICS_RELATIONS.has(relname) && (schema === null || schema === 'pg_catalog')) ctx.statistics.add(relname);
  const rel = ctx.schema.relation(schema, relname);
  if (!rel) return { alias, cols: [], open: unknown() };
  const cols = rel.columns.map((name, i) => ({ name: a.cols[i] ?? name, src: rel.source(i) }));
  return { alias, cols, ...(rel.open ? { open: new Set<string>() } : {}) };
}

function findItems(scope: Scope, alias: string): Item[] {
  for (let s: Scope | null = scope; s; s = s.parent) {
    const hit = s.items.filter((i) => i.alias === alias);
    if (hit.length) return hit;
  }
  return [];
}

/** A column by name among `items`: the union of every match (ambiguity only widens), undefined if none. */
function resolveIn(items: Item[], name: string): Src | undefined {
  let out: Src | undefined;
  for (const i of items) {
    for (const c of i.cols) if (c.name === name) out = union(out, c.src);
  }
  if (out) return out;
  for (const i of items) if (i.open) out = union(out, i.open);
  return out;
}

function wholeRow(i: Item): Src {
  return union(i.open, ...i.cols.map((c) => c.src));
}

function columnRef(fields: Ast[], scope: Scope, ctx: Ctx): Src {
  const names = fields.map((f) => (f?.A_Star !== undefined ? '*' : String(f?.String?.sval ?? '')));
  if (names.length === 1) {
    const n = names[0]!;
    for (let s: Scope | null = scope; s; s = s.parent) {
      const hit = resolveIn(s.items, n);
      if (hit) return hit;
      // a bare relation alias is the whole row (row_to_json(u), SELECT u FROM t u)
      const whole = s.items.filter((i) => i.alias === n);
      if (whole.length) return union(...whole.map(wholeRow));
    }
    if (SYSTEM_COLUMNS.has(n)) return new Set();
    // inside a body, a name that resolves nowhere is a parameter (or a variable): the caller's value
    if (ctx.body) return new Set([PARAM]);
    return unknown();
  }
  // qualifier.column (or schema.table.column, or a composite column's field)
  const col = names[names.length - 1]!;
  const qual = names[names.length - 2]!;
  const items = findItems(scope, qual);
  if (items.length) {
    if (col === '*') return union(...items.map(wholeRow));
    const r = resolveIn(items, col);
    if (r) return r;
    if (SYSTEM_COLUMNS.has(col)) return new Set();
    return unknown();
  }
  // (composite).field: whatever the composite column carries
  const first = columnRef([fields[0]], scope, ctx);
  if (!first.has(UNKNOWN) || ctx.body) return first;
  return unknown();
}

function funcName(fc: Ast): { schema: string | null; name: string } | undefined {
  const parts: string[] = (fc?.funcname ?? []).map((p: Ast) => String(p?.String?.sval ?? ''));
  if (!parts.length) return undefined;
  return { schema: parts.length > 1 ? parts[parts.length - 2]! : null, name: parts[parts.length - 1]! };
}

/** Sources of an expression (any AST subtree), recording sinks and table readers found inside it. */
function expr(node: Ast, scope: Scope, ctx: Ctx): Src {
  const out = new Set<string>();
  visit(node, scope, ctx, out);
  return out;
}

function visit(node: Ast, scope: Scope, ctx: Ctx, out: Src): void {
  if (Array.isArray(node)) {
    for (const n of node) visit(n, scope, ctx, out);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  for (const key in node) {
    const v = node[key];
    if (v === null || typeof v !== 'object') continue;
    if (key === 'ColumnRef') {
      addAll(out, columnRef(v.fields ?? [], scope, ctx));
    } else if (key === 'FuncCall') {
      const args = expr([v.args, v.agg_order, v.agg_filter, v.over], scope, ctx);
      addAll(out, args);
      addAll(out, functionSrc(v, args, ctx));
    } else if (key === 'A_Expr' && Array.isArray(v.name)) {
      // a user-defined operator runs a function of its author's choosing: its result is not traced
      const op = String(v.name[v.name.length - 1]?.String?.sval ?? '');
      if (ctx.schema.builtinOperator && !ctx.schema.builtinOperator(op)) {
        // its function gets the operands like any untraceable routine gets its arguments (it may store them)
        const operands = expr([v.lexpr, v.rexpr], scope, ctx);
        if (operands.size) ctx.sinks.push({ what: `operator ${op} (its function cannot be traced)`, src: operands, call: true });
        out.add(UNKNOWN);
        ctx.calls.add(UNKNOWN);
      }
      visit(v, scope, ctx, out);
    } else if (key === 'TypeCast') {
      // Security: a cast to a user type runs user code on the value — a domain's CHECK (`CHECK (store(VALUE))`), a
      // user-defined cast's function — which may store it like any untraceable routine given it as an argument
      const arg = expr(v.arg, scope, ctx);
      addAll(out, arg);
      const names: string[] = (v.typeName?.names ?? []).map((n: Ast) => String(n?.String?.sval ?? ''));
      const tname = names[names.length - 1] ?? '';
      if (arg.size && ctx.schema.userType?.(names.length > 1 ? names[names.length - 2]! : null, tname)) {
        ctx.sinks.push({ what: `cast to ${tname} (user code may run)`, src: arg, call: true });
      }
    } else if (key === 'ParamRef') {
      if (ctx.body) out.add(PARAM);
    } else if (key === 'SubLink') {
      if (v.testexpr) visit(v.testexpr, scope, ctx, out);
      const r = stmt(v.subselect, scope, ctx);
      for (const c of r?.cols ?? []) addAll(out, c.src);
      if (!r) out.add(UNKNOWN);
    } else if (/^[A-Z][A-Za-z]*Stmt$/.test(key)) {
      const r = stmt({ [key]: v }, scope, ctx);
      for (const c of r?.cols ?? []) addAll(out, c.src);
    } else {
      visit(v, scope, ctx, out);
    }
  }
}

function functionSrc(fc: Ast, args: Src, ctx: Ctx): Src {
  const fn = funcName(fc);
  if (!fn) return unknown();
  const builtinSchema = fn.schema === null || fn.schema === 'pg_catalog';
  if (builtinSchema && TABLE_READERS.has(fn.name)) {
    ctx.tableReaders.add(fn.name);
    return unknown();
  }
  if (builtinSchema && SINK_FUNCTIONS.has(fn.name)) ctx.sinks.push({ what: fn.name, src: args, call: true });
  const f = ctx.schema.func(fn.schema, fn.name);
  if (!f) {
    // Security: a function whose body cannot be read (PL/pgSQL, C, …) may store what it is given where no row
    // masker follows: `f(x)` doing `INSERT INTO sink VALUES (x)` or `set_config('a', x, false)`, called as
    // `SELECT f(email) FROM users`, copied the email into a clean table. Its arguments count as leaving (mask-or-
    // block): the call is refused when they carry a masked or untraceable value.
    if (args.size && ctx.schema.knowsFunctions !== false) ctx.sinks.push({ what: `${fn.name}() (its body cannot be traced)`, src: args, call: true });
    ctx.calls.add(UNKNOWN);
    return unknown();
  }
  if (f.kind === 'body') {
    if (f.sinks.size) {
      // a body sink fed by a parameter carries the call's arguments (`CREATE FUNCTION keep(x text) … AS
      // 'SELECT set_config(''a'', x, false)'` then `SELECT keep(email)`)
      const src = new Set(f.sinks);
      if (src.delete(PARAM)) addAll(src, args);
      ctx.sinks.push({ what: `function ${fn.name}`, src, call: true });
    }
    const result = new Set(f.result);
    result.delete(PARAM);
    addAll(ctx.calls, result);
    return result;
  }
  return new Set();
}

/**
 * Lineage of a SQL function body (text of its statements): the sources of what it returns (the union of its
 * statements' outputs) and of what it writes elsewhere.
 */
export function bodyLineage(stmts: Ast[], schema: LineageSchema): { result: Src; sinks: Src } {
  const result = new Set<string>();
  const sinks = new Set<string>();
  for (const st of stmts) {
    const l = statementLineage(st, schema, true, 0);
    for (const o of l.outputs ?? []) addAll(result, o);
    for (const s of l.sinks) addAll(sinks, s.src);
    if (l.tableReaders.length || l.statistics.length) result.add(UNKNOWN);
  }
  return { result, sinks };
}

/** The statements of a `CREATE FUNCTION` text (pg_get_functiondef): a quoted SQL body or BEGIN ATOMIC. */
export function functionBodyStatements(definition: string): Ast[] | undefined {
  let top: Ast;
  try {
    top = (parseSync(definition) as Ast).stmts?.[0]?.stmt?.CreateFunctionStmt;
  } catch {
    return undefined;
  }
  return top ? sqlBodyStatements(top) : undefined;
}

/** The statements of a SQL-language CreateFunctionStmt node: its BEGIN ATOMIC body or its quoted one. */
function sqlBodyStatements(top: Ast): Ast[] | undefined {
  if (top.sql_body !== undefined) {
    const found: Ast[] = [];
    const collect = (n: Ast): void => {
      if (Array.isArray(n)) return n.forEach(collect);
      if (n === null || typeof n !== 'object') return;
      const k = Object.keys(n)[0];
      if (k && /^[A-Z][A-Za-z]*Stmt$/.test(k)) found.push(n);
      else for (const key in n) collect(n[key]);
    };
    collect(top.sql_body);
    return found;
  }
  for (const o of top.options ?? []) {
    const d = o?.DefElem;
    if (d?.defname !== 'as') continue;
    const items: Ast[] = d.arg?.List?.items ?? [];
    if (items.length !== 1) return undefined;
    try {
      return ((parseSync(String(items[0]?.String?.sval ?? '')) as Ast).stmts ?? []).map((s: Ast) => s.stmt);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** The first statement of a view definition (pg_get_viewdef), parsed. */
export function viewQuery(definition: string): Ast | undefined {
  try {
    return (parseSync(definition) as Ast).stmts?.[0]?.stmt;
  } catch {
    return undefined;
  }
}
