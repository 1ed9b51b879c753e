// Effects of user functions on a read grant: the broker decides by function name, and a user function's name says
// nothing about what it does. Defends against writing through an existing function on a read grant (a volatile
// plpgsql function that DELETEs, any SECURITY DEFINER function, a MySQL stored function that MODIFIES SQL DATA):
// the protocol module supplies a catalog snapshot of the target's user functions, and a call to one that may
// write — or to one the snapshot does not know, or any user function while the catalog cannot be read — is a
// write effect, which the read-only rule then refuses. Builtins never touch the catalog (no cost for them).
// Reading a view (or a table with row-level policies) runs the functions its definition calls: the same door
// without naming the function (`CREATE VIEW v AS SELECT purge()`; `SELECT * FROM v` on a read grant deleted rows
// on both servers), so each relation read is decided as the calls it makes.
import type { Dialect, Effect, StatementFacts } from '../sql/facts.js';
import { functionEffect } from '../sql/postgres-functions.js';
import { mysqlFunctionEffect } from '../sql/mysql-functions.js';
import { mysqlFacts } from '../sql/mysql-facts.js';
import { matchFunction } from '../rules/glob.js';
import { analyze } from '../sql/analyze.js';

/** What a catalog knows about one called name. */
export type FunctionVerdict = 'builtin' | 'reads' | 'writes' | 'unknown';

/** A user function a cast (or a type's modifier input) runs, and why it runs: named in the refusal. */
export interface CastCall {
  fn: string;
  via: string;
}

export interface FunctionCatalogView {
  /** null while the catalog cannot be read (then every user function is treated as writing: fail closed) */
  verdict(name: string): FunctionVerdict | null;
  /** true for names the server provides itself (decided by name elsewhere); never needs the snapshot */
  builtin(name: string): boolean;
  /** PostgreSQL: 'writes' when some user operator of that name is bound to a function that may write */
  operator?(name: string): FunctionVerdict | null;
  /**
   * The functions reading relation `name` (as written) runs, through views over views and row-level policies
   * (qualified names): [] for a plain table or a name the snapshot does not list (a view created since is seen at
   * the next refresh: creating one needs a role that could call its functions itself), null when a view's
   * definition cannot be read (then reading it may run anything: fail closed).
   */
  relationCalls?(name: string): readonly string[] | null;
  /**
   * PostgreSQL: the user functions converting a value to `type` (as written) may run: casts to it and to what it is
   * a domain, array or composite of (CREATE CAST … WITH FUNCTION), its typmod_in, a domain's CHECK constraint calls
   * (builtins with an effect among them), and implicit casts from or to it
   */
  castCalls?(type: string): readonly CastCall[];
  /**
   * PostgreSQL: implicit or assignment casts bound to user functions that may apply, unseen in the text, to the
   * values of relation `name` (a column of their source or target type), of function `name` (returns or takes one)
   * or of operator `name` (its function does)
   */
  implicitCalls?(kind: 'relation' | 'function' | 'operator', name: string): readonly CastCall[];
  /** PostgreSQL: implicit or assignment casts between system types, which any expression may apply */
  implicitEverywhere?(): readonly CastCall[];
  /** PostgreSQL: implicit or assignment casts that may apply to parameters the client declared of these types (oids) */
  implicitParams?(oids: readonly number[]): readonly CastCall[];
  /**
   * PostgreSQL: the user functions (by name) a decision of `statements` trusts, and a check of them against the
   * live catalog that reads a new snapshot when one changed (pg/function-catalog.ts)
   */
  trusted?(statements: readonly StatementFacts[]): string[];
  /**
   * The snapshot every answer of this view comes from right now (a new object with each snapshot read), or null
   * without one: lets a caller reuse what it derived from the view while the snapshot is the same.
   */
  epoch?(): object | null;
  revalidate?(names: readonly string[]): Promise<void>;
}

/**
 * The facts with `write` added to every statement that calls a user function that may write, and the names
 * that made it so; undefined when nothing changes. `clean` globs (schema.name, from the rule files) exempt a
 * function an administrator has checked.
 */
export function withFunctionEffects(
  statements: StatementFacts[],
  cat: FunctionCatalogView,
  clean: readonly string[],
  dialect: Dialect,
  paramTypes: readonly number[] = [],
): { statements: StatementFacts[]; names: string[] } | undefined {
  const names: string[] = [];
  let changed = false;
  const isClean = (f: string) => clean.some((p) => matchFunction(p, f));
  /** a user function that may write by the catalog (unknown names, and all while it cannot be read: fail closed) */
  const writes = (f: string): boolean => {
    if (cat.builtin(f) || isClean(f)) return false;
    const v = cat.verdict(f);
    return v === null || v === 'writes' || v === 'unknown';
  };
  /** a builtin reached through a relation has the effect it has when named (nextval, pg_read_file, …) */
  const builtinEffect = dialect === 'postgres' ? functionEffect : mysqlFunctionEffect;
  const out = statements.map((st) => {
    const reads = cat.relationCalls || cat.implicitCalls ? st.tables.filter((t) => t.op === 'read') : [];
    const anywhere = cat.implicitEverywhere?.() ?? [];
    const typed = st.params && paramTypes.length ? cat.implicitParams?.(paramTypes) ?? [] : [];
    if ((!st.functions.length && !st.operators?.length && !st.casts?.length && !reads.length && !anywhere.length && !typed.length) || st.effects.includes('write')) return st;
    const added = new Set<Effect>();
    const why: string[] = [];
    const add = (e: Effect, name: string) => {
      added.add(e);
      why.push(name);
    };
    // an existing operator is the function behind it (pg_operator.oprcode): `1 @@@ 2` may be a DELETE
    for (const o of st.operators ?? []) if (cat.operator?.(o) === 'writes' && !isClean(o)) add('write', `operator ${o}`);
    for (const f of st.functions) if (writes(f)) add('write', f);
    // a cast to a type whose cast function may write is a call of that function (`SELECT 1::app.t`, also through a
    // domain or array of the type, and a type modifier's typmod_in); implicit casts the server applies unseen are
    // calls too where a value they apply to can appear: a column read, a function's result, a conversion, a parameter
    // the client declared of such a type (Parse)
    const cast = (c: CastCall) => {
      // a builtin here comes from a domain's CHECK constraint: it has the effect it has when named (nextval)
      const e = cat.builtin(c.fn) ? builtinEffect(c.fn) : writes(c.fn) ? 'write' : undefined;
      if (e) add(e, `${c.fn} (${c.via})`);
    };
    for (const t of st.casts ?? []) for (const c of cat.castCalls?.(t) ?? []) cast(c);
    for (const f of st.functions) for (const c of cat.implicitCalls?.('function', f) ?? []) cast(c);
    for (const o of st.operators ?? []) for (const c of cat.implicitCalls?.('operator', o) ?? []) cast(c);
    for (const t of reads) if (!isClean(t.name)) for (const c of cat.implicitCalls?.('relation', t.name) ?? []) cast(c);
    for (const c of typed) cast(c);
    if (st.functions.length || st.operators?.length || st.casts?.length || reads.length || st.params) for (const c of anywhere) cast(c);
    for (const t of cat.relationCalls ? reads : []) {
      if (isClean(t.name)) continue;
      const calls = cat.relationCalls!(t.name);
      if (calls === null) {
        add('write', `${t.name} (a view whose definition cannot be read)`);
        continue;
      }
      for (const f of calls) {
        const e = cat.builtin(f) ? builtinEffect(f) : writes(f) ? 'write' : undefined;
        if (e) add(e, `${f} through ${t.name}`);
      }
    }
    if (!added.size) return st;
    changed = true;
    names.push(...why);
    return { ...st, effects: [...new Set([...st.effects, ...added])] };
  });
  return changed ? { statements: out, names: [...new Set(names)] } : undefined;
}

/** What running a piece of SQL text calls, for the catalog's effect propagation (pg/function-catalog.ts). */
export interface SqlReading {
  /** functions named (lower-case, qualified where written so) */
  functions: string[];
  /** operators used (a user operator is its function) */
  operators: string[];
  /** relations read (a view's definition runs what it calls) */
  reads: string[];
  /** builtins named that have an effect of their own (nextval, pg_read_file, …: sql/postgres-functions.ts) */
  effectful: string[];
  /** types named (`x::t`, CAST(x AS t), typed literals): a user cast to one runs its function */
  casts: string[];
  /** the text could not be read */
  unparsed: boolean;
  /** something beyond reading: a write, DDL, privilege change, server administration, file access or code the reader cannot see */
  changes: boolean;
}

const CHANGING_EFFECTS: ReadonlySet<Effect> = new Set(['write', 'ddl', 'dcl', 'admin', 'dynamic', 'file']);
const readings = new Map<string, SqlReading>();

/**
 * Reads `text` as PostgreSQL would run it: a function's definition (pg_get_functiondef: CREATE FUNCTION with a SQL
 * or PL/pgSQL body, whose statements are read as nested facts), a view's query, or a policy expression (`SELECT
 * <expr>`). With `definition`, the first fact is the CREATE itself: its own DDL effect is not the body's, but a
 * body the reader cannot see into (dynamic SQL, EXECUTE, an unparsed text) counts as changing (fail closed).
 * Memoised by text: catalog snapshots are refreshed every few seconds and bodies rarely change.
 */
export function readSql(text: string, definition: boolean): SqlReading {
  const key = `${definition ? 'd' : 'q'}:${text}`;
  const hit = readings.get(key);
  if (hit) return hit;
  const facts = analyze('postgres', text);
  const body = definition ? facts.slice(1) : facts;
  const top = definition ? facts[0] : undefined;
  const r: SqlReading = {
    functions: [...new Set(facts.flatMap((f) => f.functions))],
    operators: [...new Set(facts.flatMap((f) => f.operators ?? []))],
    effectful: [...new Set(facts.flatMap((f) => f.functions.filter((n) => functionEffect(n) !== undefined)))],
    reads: [...new Set(body.flatMap((f) => f.tables.filter((t) => t.op === 'read').map((t) => t.name)))],
    casts: [...new Set(facts.flatMap((f) => f.casts ?? []))],
    unparsed: !facts.length || facts.some((f) => f.kind === 'unparsed'),
    changes: !facts.length || facts.some((f) => f.kind === 'unparsed')
      || (top !== undefined && (top.effects.includes('dynamic') || top.effects.includes('file')))
      || body.some((f) => f.effects.some((e) => CHANGING_EFFECTS.has(e))),
  };
  if (readings.size >= 20_000) readings.clear();
  readings.set(key, r);
  return r;
}

/** Statement kinds and effects a stored routine body may hold and still only read (SET of its own variables). */
const READING_KINDS = new Set(['select', 'set']);
const READING_EFFECTS = new Set<Effect>(['read', 'session']);

/**
 * Whether a MySQL/MariaDB stored routine body (information_schema.ROUTINES.ROUTINE_DEFINITION) may change
 * anything: the body is read as the CREATE that made it would be (sql/mysql-routine-body.ts, compound bodies with
 * sql/mysql-compound.ts), every statement and expression it runs. A body the reader cannot read (dynamic SQL, a
 * construct it does not know, a write inside a loop) may write: fail closed.
 */
export function mysqlRoutineBodyMayWrite(definition: string, type: string): boolean {
  const head = type.toUpperCase() === 'FUNCTION' ? 'CREATE FUNCTION dbw_body() RETURNS INT ' : 'CREATE PROCEDURE dbw_body() ';
  const facts = mysqlFacts(head + definition);
  const top = facts[0];
  if (!top || top.kind !== 'create' || top.effects.includes('dynamic')) return true;
  // one statement (the routine), its body's statements nested in it
  const body = facts.slice(1);
  if (body.some((f) => !f.nested || f.index !== 0)) return true;
  return body.some((f) => !READING_KINDS.has(f.kind) || f.effects.some((e) => !READING_EFFECTS.has(e)));
}
