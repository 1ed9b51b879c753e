// The target database's functions as read grants need them (session/function-effects.ts): pg_proc's volatility,
// SECURITY DEFINER and kind for every non-system function, and the names of the system's own functions, read in
// one query over the catalog side connection (pg/catalog.ts), shared per target database and refreshed in the
// background. Defends against a read grant writing through an existing volatile or SECURITY DEFINER function.
import type { ColumnCatalog } from './catalog.js';
import { readSql, type CastCall, type FunctionCatalogView, type FunctionVerdict, type SqlReading } from '../session/function-effects.js';
import type { StatementFacts } from '../sql/facts.js';
import { NullableColumns } from '../session/nullable-columns.js';

/** A snapshot older than this is refreshed in the background (functions created or replaced by others). */
const REFRESH_MS = 5_000;
const SYSTEM = new Set(['pg_catalog', 'information_schema']);

/** kind: 'b' = a system function name, 'w' = a user function that may write, 'r' = one that only reads */
const FUNCTIONS_SQL = `select case when n.nspname in ('pg_catalog', 'information_schema') then 'b'
    when p.prosecdef or p.provolatile = 'v' or p.prokind = 'p' then 'w' else 'r' end, n.nspname, p.proname
  from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
  group by 1, 2, 3`;

/** user operators (outside the system schemas) and the function behind each (decided like a call of it) */
const OPERATORS_SQL = `select distinct n.nspname, o.oprname, pn.nspname || '.' || p.proname,
    case when p.prosecdef or p.provolatile = 'v' then 'w' else 'r' end
  from pg_catalog.pg_operator o join pg_catalog.pg_namespace n on n.oid = o.oprnamespace
  join pg_catalog.pg_proc p on p.oid = o.oprcode::oid join pg_catalog.pg_namespace pn on pn.oid = p.pronamespace
  where n.nspname not in ('pg_catalog', 'information_schema')`;

/**
 * The definitions of user functions their flags call clean (not volatile, not SECURITY DEFINER, not a procedure)
 * in the languages the broker reads (SQL, PL/pgSQL): a STABLE function may still call a VOLATILE one that writes
 * (the server lets it), so what a body calls is followed (Snapshot.propagate). Other languages (C, plpython, …)
 * keep the classification by flags.
 */
const BODIES_SQL = `select n.nspname, p.proname, pg_catalog.pg_get_functiondef(p.oid)
  from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
  join pg_catalog.pg_language l on l.oid = p.prolang
  where n.nspname not in ('pg_catalog', 'information_schema') and p.prokind = 'f' and not p.prosecdef
    and p.provolatile <> 'v' and l.lanname in ('sql', 'plpgsql')`;

/**
 * Functions that run when another runs without being named in its body: an aggregate's support functions, and the
 * function of an implicit or assignment cast to a type a user function takes (`takes(5::bigint)` with an implicit
 * cast bigint → t runs the cast function first: the function is taken to run it, whatever its arguments). Kind
 * 'd': a user type a user function takes; when it is (or is made of) a domain with a CHECK constraint, the
 * function runs the constraint's calls (`takes_d(1)` coerces 1 to the domain: the check ran a writer). What
 * converting to a type runs is CONVERSIONS_SQL; implicit casts elsewhere in an expression, IMPLICIT_CASTS_SQL.
 */
const LINKS_SQL = `select 'a', an.nspname || '.' || ap.proname, fn.nspname || '.' || f.proname
    from pg_catalog.pg_aggregate a join pg_catalog.pg_proc ap on ap.oid = a.aggfnoid
    join pg_catalog.pg_namespace an on an.oid = ap.pronamespace
    cross join lateral unnest(array[a.aggtransfn, a.aggfinalfn, a.aggcombinefn, a.aggserialfn, a.aggdeserialfn,
      a.aggmtransfn, a.aggminvtransfn, a.aggmfinalfn]::oid[]) s(fid)
    join pg_catalog.pg_proc f on f.oid = s.fid join pg_catalog.pg_namespace fn on fn.oid = f.pronamespace
    where an.nspname not in ('pg_catalog', 'information_schema')
  union
  select 'a', pn.nspname || '.' || p.proname, fn.nspname || '.' || f.proname
    from pg_catalog.pg_cast c join pg_catalog.pg_proc f on f.oid = c.castfunc
    join pg_catalog.pg_namespace fn on fn.oid = f.pronamespace
    join pg_catalog.pg_proc p on c.casttarget = any (p.proargtypes::oid[]) join pg_catalog.pg_namespace pn on pn.oid = p.pronamespace
    where c.castcontext in ('i', 'a') and fn.nspname not in ('pg_catalog', 'information_schema')
      and pn.nspname not in ('pg_catalog', 'information_schema')
  union
  select distinct 'd', pn.nspname || '.' || p.proname, tn.nspname || '.' || t.typname
    from pg_catalog.pg_proc p join pg_catalog.pg_namespace pn on pn.oid = p.pronamespace
    join pg_catalog.pg_type t on t.oid = any (p.proargtypes::oid[]) join pg_catalog.pg_namespace tn on tn.oid = t.typnamespace
    where pn.nspname not in ('pg_catalog', 'information_schema') and tn.nspname not in ('pg_catalog', 'information_schema')`;

/**
 * What converting a value to a type runs, per type (schema.name), with a label naming why: the function of every
 * cast to it bound to a user function (pg_cast.castfunc; builtin casts are free), and its type modifier input
 * function (pg_type.typmodin: `'a'::t(5)` calls it at parse time; it may be PL/pgSQL or SQL, unlike the I/O
 * functions, which the server only takes in C). A domain over the type, an array of it and a composite type with
 * a field of it reach the same functions (`1::dom` applies the cast to the domain's base type, `array[1]::_t` the
 * element cast to each element, `row(1)::comp` the field's cast to the field), so they are listed under their own
 * names too (`edges`). The source type of `x::t` is not known to the broker: every user
 * cast to t counts (fail closed). A cast from a user type to a system type (`CREATE CAST (s AS text)`) is not
 * listed under the system type (every `x::text` would count): it is decided where a value of its source type can
 * be (IMPLICIT_CASTS_SQL). Defends against a read grant's `SELECT 1::t` running a SECURITY DEFINER or VOLATILE
 * cast function that deletes rows.
 */
/**
 * Type `child` is made of type `parent`: a domain over it, its array type, a composite (or a relation's row type)
 * with a field of it (user relations only: system ones hold no user type), and with `ranges`, a range over it or
 * the multirange of a range. One list joined by hash in each recursion (not a scan of pg_type per row).
 */
const edges = (ranges: boolean) => `edges(parent, child) as (
    select typbasetype, oid from pg_catalog.pg_type where typtype = 'd'
    union all
    select oid, typarray from pg_catalog.pg_type where typarray <> 0
    union all
    select a.atttypid, c.reltype from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
      where c.reltype <> 0 and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_toast'${ranges ? `
    union all
    select rngsubtype, rngtypid from pg_catalog.pg_range
    union all
    select rngtypid, rngmultitypid from pg_catalog.pg_range` : ''})`;

const CONVERSIONS_SQL = `with recursive ${edges(false)}, conv(typ, fn, label) as (
    select c.casttarget, c.castfunc, 'cast (' || pg_catalog.format_type(c.castsource, null) || ' as '
        || pg_catalog.format_type(c.casttarget, null) || ')'
      from pg_catalog.pg_cast c join pg_catalog.pg_proc f on f.oid = c.castfunc
      join pg_catalog.pg_namespace fn on fn.oid = f.pronamespace
      join pg_catalog.pg_type st on st.oid = c.castsource join pg_catalog.pg_namespace sn on sn.oid = st.typnamespace
      join pg_catalog.pg_type tt on tt.oid = c.casttarget join pg_catalog.pg_namespace tn on tn.oid = tt.typnamespace
      where fn.nspname not in ('pg_catalog', 'information_schema')
        and (tn.nspname not in ('pg_catalog', 'information_schema') or sn.nspname in ('pg_catalog', 'information_schema'))
    union all
    select t.oid, t.typmodin, 'type modifier input of ' || pg_catalog.format_type(t.oid, null)
      from pg_catalog.pg_type t join pg_catalog.pg_proc f on f.oid = t.typmodin
      join pg_catalog.pg_namespace fn on fn.oid = f.pronamespace
      where fn.nspname not in ('pg_catalog', 'information_schema')
  union
    select e.child, x.fn, x.label from conv x join edges e on e.parent = x.typ)
  select tn.nspname || '.' || t.typname, fn.nspname || '.' || f.proname, x.label from conv x
    join pg_catalog.pg_type t on t.oid = x.typ join pg_catalog.pg_namespace tn on tn.oid = t.typnamespace
    join pg_catalog.pg_proc f on f.oid = x.fn join pg_catalog.pg_namespace fn on fn.oid = f.pronamespace`;

/**
 * The CHECK constraints of user domains, as expression text per type they are part of (the domain and the types
 * made of it, `edges`): converting a value to a domain evaluates them (`1::d` with `CHECK (purge() > 0)`, or `nextval(…)`, ran
 * as the read role and deleted rows / advanced the sequence). The text is read like a view's (Snapshot): user
 * functions and operators it calls, and builtins with an effect, are what converting to the type calls.
 */
const DOMAIN_CHECKS_SQL = `with recursive ${edges(false)}, chk(typ, label, expr) as (
    select k.contypid, 'check constraint ' || k.conname || ' of domain ' || pg_catalog.format_type(k.contypid, null),
        pg_catalog.pg_get_expr(k.conbin, 0)
      from pg_catalog.pg_constraint k join pg_catalog.pg_type t on t.oid = k.contypid
      join pg_catalog.pg_namespace n on n.oid = t.typnamespace
      where k.contypid <> 0 and k.contype = 'c' and n.nspname not in ('pg_catalog', 'information_schema')
  union
    select e.child, x.label, x.expr from chk x join edges e on e.parent = x.typ)
  select tn.nspname || '.' || t.typname, x.label, x.expr from chk x
    join pg_catalog.pg_type t on t.oid = x.typ join pg_catalog.pg_namespace tn on tn.oid = t.typnamespace`;

/**
 * Implicit and assignment casts bound to user functions (castcontext 'i' / 'a'): the server applies them without
 * any cast in the text (`lower(col)` with an implicit cast from col's type to text; `coalesce(col, 'x'::text)`),
 * so the broker cannot see where they run; and explicit casts from a user type to a system type, whose target
 * (`x::text`) says nothing of the source. Such a cast can only apply to a value of its source or target type
 * (user types only: a cast between two system types is kind 'g', below), and a statement only has such a value if
 * it reads a column of such a type (or of a domain, array, range, multirange or composite type over one: kind
 * 'r', the relation), calls a function returning one or taking one (kind 'f'), converts to such a type (kind
 * 't', a type name as in CONVERSIONS_SQL, with its oid for a parameter the client declared of that type in Parse).
 * A parameter the server types from its context takes the type of something else the statement has (a column, a
 * function argument) and is decided with it. Kind 'g': a cast between system types (a superuser's `CREATE CAST
 * (int4 AS bytea) … AS IMPLICIT`) may apply to any expression. Each row: kind, the cast's label, its function,
 * the type / relation / function it marks, the type's oid.
 */
const IMPLICIT_CASTS_SQL = `with recursive ${edges(true)}, ic as (
    select c.oid, c.castsource, c.casttarget, fn.nspname || '.' || f.proname as fn,
      case c.castcontext when 'i' then 'implicit ' when 'a' then 'assignment ' else '' end || 'cast ('
        || pg_catalog.format_type(c.castsource, null) || ' as ' || pg_catalog.format_type(c.casttarget, null) || ')' as label
    from pg_catalog.pg_cast c join pg_catalog.pg_proc f on f.oid = c.castfunc join pg_catalog.pg_namespace fn on fn.oid = f.pronamespace
      join pg_catalog.pg_type st on st.oid = c.castsource join pg_catalog.pg_namespace sn on sn.oid = st.typnamespace
      join pg_catalog.pg_type tt on tt.oid = c.casttarget join pg_catalog.pg_namespace tn on tn.oid = tt.typnamespace
    where fn.nspname not in ('pg_catalog', 'information_schema') and (c.castcontext in ('i', 'a')
      or (tn.nspname in ('pg_catalog', 'information_schema') and sn.nspname not in ('pg_catalog', 'information_schema')))),
  carriers(cast_oid, typ) as (
    select ic.oid, t.oid from ic join pg_catalog.pg_type t on t.oid in (ic.castsource, ic.casttarget)
      join pg_catalog.pg_namespace n on n.oid = t.typnamespace where n.nspname not in ('pg_catalog', 'information_schema')
    union
    select k.cast_oid, e.child from carriers k join edges e on e.parent = k.typ)
  select distinct 't', ic.label, ic.fn, tn.nspname || '.' || t.typname, k.typ::text from carriers k join ic on ic.oid = k.cast_oid
      join pg_catalog.pg_type t on t.oid = k.typ join pg_catalog.pg_namespace tn on tn.oid = t.typnamespace
    union all
    select 'g', ic.label, ic.fn, '', null from ic where not exists (select 1 from carriers k where k.cast_oid = ic.oid)`;

/**
 * The relations with a column of, and the functions returning or taking, the types (oids) IMPLICIT_CASTS_SQL listed:
 * kind 'r' / 'f', the type's oid, the relation / function (schema.name). A second query, run only when there are
 * such types: in one, the planner's estimates of the recursive list made it compile the query (JIT, seconds).
 */
const CARRIED_SQL = (oids: readonly string[]) => `with k(typ) as (select unnest('{${oids.map(Number).join(',')}}'::oid[]))
  select distinct 'r', k.typ::text, rn.nspname || '.' || rc.relname from k
      join pg_catalog.pg_attribute a on a.atttypid = k.typ and a.attnum > 0 and not a.attisdropped
      join pg_catalog.pg_class rc on rc.oid = a.attrelid and rc.relkind in ('r', 'v', 'm', 'f', 'p')
      join pg_catalog.pg_namespace rn on rn.oid = rc.relnamespace
  union all
  select distinct 'f', k.typ::text, pn.nspname || '.' || p.proname from k
      join (select p.proname, p.pronamespace, u.typ from pg_catalog.pg_proc p
        cross join lateral unnest(p.proargtypes::oid[] || coalesce(p.proallargtypes, '{}') || p.prorettype) u(typ)) p on p.typ = k.typ
      join pg_catalog.pg_namespace pn on pn.oid = p.pronamespace`;

/** IMPLICIT_CASTS_SQL's rows, with each type's relations and functions (CARRIED_SQL) as rows of kind 'r' / 'f'. */
async function implicitRows(query: (sql: string) => Promise<Rows>): Promise<Rows> {
  const rows = await query(IMPLICIT_CASTS_SQL);
  const types = rows.filter((r) => r[0] === 't');
  if (!types.length) return rows;
  const carried = await query(CARRIED_SQL([...new Set(types.map((r) => r[4]!))]));
  const out = [...rows];
  for (const [kind, oid, ref] of carried) for (const t of types) if (t[4] === oid) out.push([kind!, t[1]!, t[2]!, ref!, null]);
  return out;
}

/**
 * View queries and policy expressions as text: PostgreSQL records no dependency on pinned (built-in) functions, so
 * a view calling `nextval` or `pg_read_file` shows nothing in pg_depend; the text is read like a statement.
 */
const DEFINITIONS_SQL = `select n.nspname || '.' || c.relname, pg_catalog.pg_get_viewdef(c.oid)
    from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where c.relkind = 'v' and n.nspname not in ('pg_catalog', 'information_schema')
  union all
  select n.nspname || '.' || c.relname, 'select ' || coalesce(pg_catalog.pg_get_expr(p.polqual, p.polrelid), 'true')
      || ', ' || coalesce(pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid), 'true')
    from pg_catalog.pg_policy p join pg_catalog.pg_class c on c.oid = p.polrelid
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where n.nspname not in ('pg_catalog', 'information_schema')`;

/**
 * Columns that may hold NULL (for writes scoped only by `col IS NOT NULL`, session/nullable-columns.ts): plain
 * tables without inheritance children or partitions (a child may declare the column NOT NULL), columns neither
 * NOT NULL (primary key columns are) nor of a domain type (a domain may forbid NULL) nor named by a CHECK
 * constraint (`CHECK (col IS NOT NULL)` forbids NULL as well).
 */
const NULLABLE_SQL = `select n.nspname, c.relname, a.attname
  from pg_catalog.pg_attribute a join pg_catalog.pg_class c on c.oid = a.attrelid
  join pg_catalog.pg_namespace n on n.oid = c.relnamespace join pg_catalog.pg_type ty on ty.oid = a.atttypid
  where c.relkind = 'r' and not c.relhassubclass and a.attnum > 0 and not a.attisdropped and not a.attnotnull
    and ty.typtype <> 'd' and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_(temp|toast)'
    and not exists (select 1 from pg_catalog.pg_constraint k where k.conrelid = c.oid and k.contype = 'c' and a.attnum = any (k.conkey))`;

/**
 * Per user function name, the identity and row version of every function of that name (oid and xmin change with
 * CREATE OR REPLACE, DROP + CREATE, ALTER): compared with the live catalog before a decision that trusted them.
 */
const VERSIONS_SQL = `select p.proname, string_agg(n.nspname || ':' || p.oid || ':' || p.xmin, ',' order by p.oid)
  from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
  where n.nspname not in ('pg_catalog', 'information_schema') group by p.proname`;

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

type Rows = (string | null)[][];

/** The catalog reads one snapshot is built from (each query above, in order). */
export interface SnapshotRows {
  functions: Rows;
  operators?: Rows;
  relations?: Rows;
  bodies?: Rows;
  links?: Rows;
  conversions?: Rows;
  domainChecks?: Rows;
  implicit?: Rows;
  definitions?: Rows;
  versions?: Rows;
  nullable?: Rows;
}

const keyName = (key: string) => key.slice(key.indexOf('.') + 1);

export class Snapshot {
  readonly builtins = new Set<string>();
  /** name → verdicts of its overloads, and schema.name → the same */
  readonly user = new Map<string, FunctionVerdict>();

  /** operator name and schema.name → 'writes' when one of that name is bound to a function that may write */
  readonly operators = new Map<string, FunctionVerdict>();
  /** operator name and schema.name → the functions (schema.name) behind operators of that name */
  private readonly operatorFns = new Map<string, Set<string>>();
  /** type (name and schema.name) → user functions converting to it runs (casts to it, its typmod_in), and why */
  private readonly castFns = new Map<string, CastCall[]>();
  /** implicit / assignment casts bound to user functions: relation (schema.name), function (name and schema.name) → them */
  private readonly implicitRel = new Map<string, CastCall[]>();
  private readonly implicitFn = new Map<string, CastCall[]>();
  private readonly implicitOp = new Map<string, CastCall[]>();
  /** such casts that may apply to a parameter declared of a type (by oid) */
  private readonly implicitOid = new Map<string, CastCall[]>();
  /** such casts between system types: any expression may apply them */
  readonly implicitAnywhere: CastCall[] = [];
  /** function (schema.name) → the user functions it runs (body calls, operators, casts, aggregate support) */
  private readonly callees = new Map<string, Set<string>>();
  /** columns that may hold NULL */
  readonly nullable: NullableColumns;
  /** user function name → identities and row versions of the functions of that name (VERSIONS_SQL) */
  readonly versions = new Map<string, string>();

  /** relation (schema.name) → functions it calls directly, and relations it reads */
  private readonly relCalls = new Map<string, Set<string>>();
  private readonly relReads = new Map<string, Set<string>>();
  /** unqualified relation name → its schema.name keys (an unqualified name may mean any of them) */
  private readonly relNames = new Map<string, string[]>();
  private readonly relMemo = new Map<string, readonly string[]>();

  constructor(rows: SnapshotRows | Rows, readonly startedAt: number) {
    const r: SnapshotRows = Array.isArray(rows) ? { functions: rows } : rows;
    this.nullable = new NullableColumns((r.nullable ?? []).map(([schema, table, column]) => [schema!, table!, column!] as const));
    const addRel = (rel: string, kind: 'f' | 'r', ref: string) => {
      const map = kind === 'f' ? this.relCalls : this.relReads;
      if (!map.has(rel)) map.set(rel, new Set());
      map.get(rel)!.add(ref);
      const name = keyName(rel);
      const keys = this.relNames.get(name) ?? [];
      if (!keys.includes(rel)) this.relNames.set(name, [...keys, rel]);
    };
    for (const [rel, kind, ref] of r.relations ?? []) addRel(rel!, kind === 'f' ? 'f' : 'r', ref!);
    const own = new Map<string, boolean>();
    for (const [kind, schema, name] of r.functions) {
      if (kind === 'b') {
        this.builtins.add(name!);
        continue;
      }
      const key = `${schema}.${name}`;
      own.set(key, (own.get(key) ?? false) || kind === 'w');
      this.userNames.add(name!);
    }
    for (const [name, v] of r.versions ?? []) this.versions.set(name!, v ?? '');
    const link = (map: Map<string, Set<string>>, from: string, to: string) => {
      if (!map.has(from)) map.set(from, new Set());
      map.get(from)!.add(to);
    };
    for (const [schema, name, fn, kind] of r.operators ?? []) {
      for (const k of [name!, `${schema}.${name}`]) {
        link(this.operatorFns, k, fn!);
        if (kind === 'w') this.operators.set(k, 'writes');
      }
    }
    for (const [kind, from, to] of r.links ?? []) if (kind === 'a') link(this.callees, from!, to!);
    const push = (map: Map<string, CastCall[]>, keys: string[], c: CastCall) => {
      for (const k of new Set(keys)) {
        const list = map.get(k) ?? [];
        if (!list.some((x) => x.fn === c.fn && x.via === c.via)) map.set(k, [...list, c]);
      }
    };
    for (const [type, fn, label] of r.conversions ?? []) push(this.castFns, [type!, keyName(type!)], { fn: fn!, via: `${label}, by a cast to ${type}` });
    // a domain's CHECK runs what its expression calls: user functions and operators, builtins with an effect
    const checkFns = new Map<string, Set<string>>();
    for (const [type, label, expr] of r.domainChecks ?? []) {
      const via = `${label}, by a cast to ${type}`;
      const x = expr === null ? null : readSql(`select ${expr}`, false);
      const fns = x === null || x.unparsed ? [`${label} (unreadable)`] : [
        ...x.functions.filter((f) => !this.isBuiltin(f) || x.effectful.includes(f)),
        ...x.operators.flatMap((o) => [...(this.operatorFns.get(o) ?? [])]),
      ];
      for (const fn of fns) push(this.castFns, [type!, keyName(type!)], { fn, via });
      for (const fn of fns) link(checkFns, type!, this.isBuiltin(fn) ? WRITES : fn);
    }
    for (const [kind, fn, type] of r.links ?? []) if (kind === 'd') for (const f of checkFns.get(type!) ?? []) link(this.callees, fn!, f);
    for (const [kind, label, fn, ref, oid] of r.implicit ?? []) {
      if (kind === 'g') this.implicitAnywhere.push({ fn: fn!, via: `${label} between system types: any expression may apply it` });
      else if (kind === 't') {
        push(this.castFns, [ref!, keyName(ref!)], { fn: fn!, via: `${label}, on a value converted to ${ref}` });
        push(this.implicitOid, [oid!], { fn: fn!, via: `${label}, on a parameter declared ${ref}` });
      }
      else if (kind === 'r') {
        push(this.implicitRel, [ref!], { fn: fn!, via: `${label}, on values read from ${ref}` });
        // the unqualified name (search_path) may mean it too
        const keys = this.relNames.get(keyName(ref!)) ?? [];
        if (!keys.includes(ref!)) this.relNames.set(keyName(ref!), [...keys, ref!]);
      }
      else if (kind === 'f') push(this.implicitFn, [ref!, keyName(ref!)], { fn: fn!, via: `${label}, on values of ${ref}` });
    }
    // an operator is its function: one over such a type makes such values from literals (`'(1)' operator(s.+) '(2)'`)
    if (this.implicitFn.size) {
      for (const [op, fns] of this.operatorFns) {
        for (const f of fns) for (const c of this.implicitFn.get(f) ?? []) push(this.implicitOp, [op], { fn: c.fn, via: `${c.via} (operator ${op})` });
      }
    }
    /** a reading's user functions; unknown names are kept as written (resolve() fails them closed) */
    const called = (x: SqlReading, body = true): string[] => [
      ...x.functions.filter((f) => !this.isBuiltin(f)),
      // in a body, an operator bound to a volatile / SECURITY DEFINER function (builtins included) writes whatever
      // it is; a view's operators are listed as their functions (decided like direct calls by the session)
      ...x.operators.flatMap((o) => (body && this.operators.get(o) === 'writes' ? [WRITES] : [...(this.operatorFns.get(o) ?? [])])),
      // a builtin here is one with an effect, from a domain's CHECK (nextval): it changes something
      ...x.casts.flatMap((t) => this.castCalls(t).map((c) => (this.isBuiltin(c.fn) ? WRITES : c.fn))),
      // an implicit cast the body may apply without writing it (see IMPLICIT_CASTS_SQL): its function runs too
      ...x.reads.flatMap((rel) => this.relationKeys(rel).flatMap((k) => (this.implicitRel.get(k) ?? []).map((c) => c.fn))),
      ...x.functions.flatMap((f) => (this.implicitFn.get(f) ?? []).map((c) => c.fn)),
      ...x.operators.flatMap((o) => (this.implicitOp.get(o) ?? []).map((c) => c.fn)),
      ...(x.functions.length || x.operators.length || x.casts.length || x.reads.length ? this.implicitAnywhere.map((c) => c.fn) : []),
    ];
    // a function whose body cannot be read as plain calls (dynamic SQL) or that changes something itself writes
    for (const [schema, name, def] of r.bodies ?? []) {
      const key = `${schema}.${name}`;
      if (def === null) continue;
      const x = readSql(def, true);
      if (x.changes) own.set(key, true);
      for (const f of called(x)) link(this.callees, key, f);
      for (const rel of x.reads) link(this.bodyReads, key, rel);
    }
    // builtins a view or policy calls are not in pg_depend: read from the definition text
    for (const [rel, text] of r.definitions ?? []) {
      if (text === null) continue;
      const x = readSql(text, false);
      for (const f of x.functions) addRel(rel!, 'f', f);
      for (const f of called(x, false)) if (!x.functions.includes(f)) addRel(rel!, 'f', f);
      if (x.unparsed) addRel(rel!, 'f', UNREADABLE);
    }
    this.propagate(own);
  }

  private readonly userNames = new Set<string>();
  /** relations a function body reads (their views' calls run too) */
  private readonly bodyReads = new Map<string, Set<string>>();

  /**
   * Effects flow from callee to caller until nothing changes (as on MySQL, mysql/function-effects.ts): a clean
   * function calling one that may write — directly, through an operator, a cast, an aggregate's support function or
   * a view it reads — may write. A call to a name the snapshot does not know fails closed. Defends against a STABLE
   * or IMMUTABLE wrapper (`select purge()`) lending its flags to a VOLATILE or SECURITY DEFINER function.
   */
  private propagate(own: Map<string, boolean>): void {
    const writes = new Map(own);
    const byName = new Map<string, string[]>();
    for (const key of own.keys()) byName.set(keyName(key), [...(byName.get(keyName(key)) ?? []), key]);
    const resolve = (f: string): string[] | 'unknown' => {
      if (f === UNREADABLE || f === WRITES) return 'unknown';
      // a system function behind an operator: its own effect is its flags' (the operator's kind above)
      if (f.includes('.') && SYSTEM.has(f.slice(0, f.lastIndexOf('.')))) return [];
      if (f.includes('.')) return own.has(f) ? [f] : 'unknown';
      return byName.get(f) ?? 'unknown';
    };
    for (const [key, rels] of this.bodyReads) {
      for (const rel of rels) for (const k of this.relationKeys(rel)) for (const f of this.callsOf(k)) if (!this.isBuiltin(f)) {
        if (!this.callees.has(key)) this.callees.set(key, new Set());
        this.callees.get(key)!.add(f);
      }
    }
    for (let changed = true; changed; ) {
      changed = false;
      for (const [key, called] of this.callees) {
        if (writes.get(key) || !own.has(key)) continue;
        for (const f of called) {
          const to = resolve(f);
          if (to === 'unknown' || to.some((k) => writes.get(k))) {
            writes.set(key, true);
            changed = true;
            break;
          }
        }
      }
    }
    this.resolved = writes;
    for (const [key, w] of writes) {
      const v: FunctionVerdict = w ? 'writes' : 'reads';
      // overloads and same-named functions in other schemas: one that may write makes the name a writer
      for (const k of [keyName(key), key]) if (this.user.get(k) !== 'writes') this.user.set(k, v);
    }
    for (const [op, fns] of this.operatorFns) {
      if (this.operators.get(op) === 'writes') continue;
      const w = [...fns].some((f) => !f.startsWith('pg_catalog.') && (this.resolved.get(f) ?? true));
      this.operators.set(op, w ? 'writes' : 'reads');
    }
  }

  private resolved = new Map<string, boolean>();

  /** the functions behind user operators of that name */
  operatorCalls(op: string): readonly string[] {
    return [...(this.operatorFns.get(op) ?? [])];
  }

  /** user functions converting to `type` (as written) may run */
  castCalls(type: string): readonly CastCall[] {
    return this.castFns.get(type.replace(/"/g, '')) ?? NONE;
  }

  /** implicit or assignment casts that may apply to parameters declared of these types (oids, from Parse) */
  implicitParams(oids: readonly number[]): CastCall[] {
    return this.implicitOid.size ? oids.flatMap((o) => this.implicitOid.get(String(o)) ?? []) : [];
  }

  /** implicit or assignment casts a statement reading `rel` (as written) or calling `fn` may apply */
  implicitCalls(kind: 'relation' | 'function' | 'operator', name: string): readonly CastCall[] {
    if (kind === 'function') return this.implicitFn.get(name.replace(/"/g, '')) ?? NONE;
    if (kind === 'operator') return this.implicitOp.get(name) ?? NONE;
    if (!this.implicitRel.size) return NONE;
    const keys = this.relationKeys(name);
    return keys.length === 1 ? this.implicitRel.get(keys[0]!) ?? NONE : keys.flatMap((k) => this.implicitRel.get(k) ?? []);
  }

  /** the user functions (schema.name) `key` runs, directly or not: what a decision trusting it depends on */
  closure(names: Iterable<string>): Set<string> {
    const out = new Set<string>();
    const todo = [...names];
    while (todo.length) {
      const n = todo.pop()!;
      const keys = n.includes('.') ? [n] : [...this.resolved.keys()].filter((k) => keyName(k) === n);
      for (const k of keys) {
        if (out.has(k)) continue;
        out.add(k);
        todo.push(...(this.callees.get(k) ?? []));
      }
    }
    return out;
  }

  private isBuiltin(name: string): boolean {
    const dot = name.lastIndexOf('.');
    if (dot >= 0) return SYSTEM.has(name.slice(0, dot));
    return this.builtins.has(name) && !this.userNames.has(name);
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

const NONE: readonly CastCall[] = [];
/** a view or policy whose text the reader could not see into: reading it may run anything */
const UNREADABLE = '\0unreadable';
/** a callee known to write without a name of its own (an operator bound to a writing function) */
const WRITES = '\0writes';

export class FunctionCatalog implements FunctionCatalogView {
  private snap: Snapshot | null = null;
  private loading: Promise<Snapshot | null> | null = null;

  constructor(private readonly catalog: ColumnCatalog) {}

  /** A snapshot is there (a stale one is refreshed in the background, as on every use): a login need not wait. */
  ready(): boolean {
    return this.current() !== null;
  }

  /** Waits (bounded) for the first snapshot, so a session's first calls are decided by it, not refused. */
  async loaded(timeoutMs = 5_000): Promise<void> {
    if (this.current()) return;
    await Promise.race([this.refresh(), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
  }

  private current(): Snapshot | null {
    if (!this.snap || Date.now() - this.snap.startedAt > REFRESH_MS) void this.refresh();
    return this.snap;
  }

  /** refreshes started so far; a snapshot carries the number of the refresh that read it */
  private started = 0;
  private snapGen = 0;

  private refresh(): Promise<Snapshot | null> {
    this.loading ??= (async () => {
      const startedAt = Date.now();
      const gen = ++this.started;
      try {
        const rows = await this.catalog.exclusive(async (query): Promise<SnapshotRows> => ({
          functions: await query(FUNCTIONS_SQL), operators: await query(OPERATORS_SQL), relations: await query(RELATION_CALLS_SQL),
          bodies: await query(BODIES_SQL), links: await query(LINKS_SQL), conversions: await query(CONVERSIONS_SQL),
          implicit: await implicitRows(query), domainChecks: await query(DOMAIN_CHECKS_SQL), definitions: await query(DEFINITIONS_SQL),
          versions: await query(VERSIONS_SQL), nullable: await query(NULLABLE_SQL),
        }));
        this.snap = new Snapshot(rows, startedAt);
        this.snapGen = gen;
      } catch {
        // keep the last snapshot; without one every user function counts as writing
      } finally {
        this.loading = null;
      }
      return this.snap;
    })();
    return this.loading;
  }

  /** A snapshot read entirely after this call (a refresh already under way may have missed a change). */
  private async fresh(): Promise<void> {
    const need = this.started + 1;
    if (this.loading) await this.loading;
    if (this.snapGen < need) await this.refresh();
  }

  /**
   * The user functions (by name) whose catalog entries the decision of `statements` trusts: the functions they
   * call, the functions behind the operators and casts they use and the views they read, and everything those call.
   * Empty for statements that reach only builtins, so the hot path never asks the catalog.
   */
  trusted(statements: readonly StatementFacts[]): string[] {
    const s = this.snap;
    if (!s) return [];
    const direct = new Set<string>();
    for (const st of statements) {
      for (const f of st.functions) if (!this.builtin(f)) direct.add(f);
      for (const o of st.operators ?? []) for (const f of s.operatorCalls(o)) direct.add(f);
      for (const t of st.casts ?? []) for (const c of s.castCalls(t)) if (!this.builtin(c.fn)) direct.add(c.fn);
      for (const f of st.functions) for (const c of s.implicitCalls('function', f)) direct.add(c.fn);
      for (const o of st.operators ?? []) for (const c of s.implicitCalls('operator', o)) direct.add(c.fn);
      for (const t of st.tables) if (t.op === 'read') {
        for (const f of this.relationCalls(t.name) ?? []) if (!this.builtin(f)) direct.add(f);
        for (const c of s.implicitCalls('relation', t.name)) direct.add(c.fn);
      }
      for (const c of s.implicitAnywhere) direct.add(c.fn);
    }
    if (!direct.size) return [];
    const names = new Set([...direct].map(keyName));
    for (const k of s.closure(direct)) names.add(keyName(k));
    return [...names];
  }

  /**
   * Re-validates the named user functions against the live catalog (identity and row version of every function
   * of each name) and reads a new snapshot when one changed, before a decision that trusts them is made.
   * Defends against the race between snapshot refreshes: `CREATE OR REPLACE FUNCTION f` (or DROP + CREATE) turning
   * a clean function into a writing one, then calling it at once on a read grant, was decided by the old entry.
   */
  async revalidate(names: readonly string[]): Promise<void> {
    const s = this.snap;
    if (!s || !names.length) return;
    const list = names.map((n) => `E'${n.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`).join(', ');
    let live: Map<string, string>;
    try {
      const rows = await this.catalog.exclusive((query) => query(`${VERSIONS_SQL.replace(' group by', ` and p.proname = any (array[${list}]::text[]) group by`)}`));
      live = new Map(rows.map(([n, v]) => [n!, v ?? '']));
    } catch {
      await this.freshOrNothing();
      return;
    }
    if (names.some((n) => (live.get(n) ?? '') !== (s.versions.get(n) ?? ''))) await this.freshOrNothing();
  }

  /**
   * A fresh snapshot, or none at all: when the catalog cannot be read right now, the old snapshot (which may hold a
   * function's replaced, harmless entry) is dropped, so every user function counts as writing until a read
   * succeeds. Fail closed: a broken side connection must not let a decision trust what could not be re-checked.
   */
  private async freshOrNothing(): Promise<void> {
    const need = this.started + 1;
    await this.fresh();
    if (this.snapGen < need) this.snap = null;
  }

  epoch(): object | null {
    return this.current();
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

  castCalls(type: string): readonly CastCall[] {
    return this.current()?.castCalls(type) ?? NONE;
  }

  implicitCalls(kind: 'relation' | 'function' | 'operator', name: string): readonly CastCall[] {
    return this.current()?.implicitCalls(kind, name) ?? NONE;
  }

  implicitEverywhere(): readonly CastCall[] {
    return this.current()?.implicitAnywhere ?? NONE;
  }

  implicitParams(oids: readonly number[]): readonly CastCall[] {
    return oids.length ? this.current()?.implicitParams(oids) ?? NONE : NONE;
  }

  /** The column may hold NULL by the snapshot (false when unknown, or without a snapshot). */
  nullable(table: string, column: string): boolean {
    return this.current()?.nullable.nullable(table, column) ?? false;
  }

  /**
   * Without a snapshot a relation is taken at its word ([]), like operators: failing closed would refuse every
   * read. With one, user functions reached through it are then decided like direct calls (and fail closed).
   */
  relationCalls(name: string): readonly string[] | null {
    const s = this.current();
    if (!s) return [];
    const keys = s.relationKeys(name);
    const calls = keys.length === 1 ? s.callsOf(keys[0]!) : [...new Set(keys.flatMap((k) => s.callsOf(k)))];
    return calls.includes(UNREADABLE) ? null : calls;
  }
}

const catalogs = new WeakMap<ColumnCatalog, FunctionCatalog>();
/** The function catalog sharing `catalog`'s side connection (one per target database). */
export function functionCatalogOf(catalog: ColumnCatalog): FunctionCatalog {
  let fc = catalogs.get(catalog);
  if (!fc) catalogs.set(catalog, (fc = new FunctionCatalog(catalog)));
  return fc;
}
