// PostgreSQL effects carried by DDL options and bindings rather than by the statement kind: SECURITY DEFINER,
// `SET role` on functions and databases, row-level security switched off, permissive policies, role renames,
// FDW file/program options, extensions, and objects (operators, casts, aggregates, conversions, triggers) that
// inherit the effect of the function they are bound to.
import type { Effect, StatementFacts } from './facts.js';
import { ADMIN_SETTINGS, PRIVILEGE_SETTINGS, functionEffect } from './postgres-functions.js';
import { pgUnscopedReason } from './pg-where-scope.js';
import type { AstNode as Ast } from './ast.js';

// Defends against the same effect reached through another door than the statement kind the rules name:
//   CREATE FUNCTION f() … SECURITY DEFINER / SET role = postgres  — code that runs as the privileged owner, callable
//     later by anyone (a read grant too): a privilege change;
//   ALTER DATABASE d SET role / session_authorization / search_path — every later session of every role starts
//     as someone else or resolves names through a schema the writer controls: a privilege change;
//   ALTER DATABASE d SET session_replication_role = replica — disables triggers and FK checks for everyone: admin;
//   ALTER TABLE … DISABLE / NO FORCE ROW LEVEL SECURITY, CREATE POLICY (permissive, the default), ALTER POLICY,
//     DROP POLICY — rows hidden from other roles become visible: a privilege change;
//   ALTER ROLE a RENAME TO b — grants and logins that name the role now name another: a privilege change;
//   CREATE OPERATOR ### (FUNCTION = setval) / CREATE CAST … WITH FUNCTION pg_read_file / CREATE AGGREGATE
//     (SFUNC = …) / CREATE CONVERSION … FROM f / CREATE TRIGGER … EXECUTE FUNCTION f — later statements call
//     the function without naming it, so the binding carries the function's effect now;
//   CREATE EXTENSION file_fdw / adminpack / pg_surgery / dblink / refint, untrusted languages, and FDW objects
//     with `filename` / `program` options — server files, programs, tuple surgery or SQL the broker never sees.

export interface OptionEffects {
  effects: Effect[];
  /** the statement removes data or integrity (alter-drop) */
  drops: boolean;
  /** functions the statement binds to an object (called later without being named) */
  functions: string[];
}

/** Settings that, stored on a database or function, decide who later sessions act as or how they resolve names. */
const STORED_PRIVILEGE_SETTINGS = new Set([...PRIVILEGE_SETTINGS, 'search_path']);

/**
 * Extensions by what their functions or wrappers do (the extension is what its most dangerous member is):
 * file_fdw and adminpack read/write server files and run programs, pg_surgery removes or freezes tuples below
 * every check, dblink and postgres_fdw run SQL on other connections, refint's triggers run SQL built from text.
 */
const EXTENSION_EFFECTS: Record<string, Effect> = {
  file_fdw: 'file', adminpack: 'file', pg_surgery: 'admin', pageinspect: 'file',
  dblink: 'dynamic', postgres_fdw: 'dynamic', refint: 'dynamic',
  // untrusted procedural languages reach the operating system
  plpython3u: 'file', plpythonu: 'file', plpython2u: 'file', plperlu: 'file', pltclu: 'file', plsh: 'file',
};

/** DefineStmt definition keys whose value is a function the new object calls. */
const FUNCTION_KEYS = new Set([
  'function', 'procedure', 'sfunc', 'finalfunc', 'combinefunc', 'serialfunc', 'deserialfunc', 'msfunc', 'minvfunc',
  'mfinalfunc', 'restrict', 'join', 'input', 'output', 'receive', 'send', 'typmod_in', 'typmod_out', 'analyze',
  'subscript', 'canonical', 'subtype_diff', 'handler', 'validator',
]);

/** FDW / server / foreign-table option names that point at a server file or a program to run. */
const FILE_OPTIONS = new Set(['filename', 'program']);

const FDW_STATEMENTS = new Set([
  'CreateForeignTableStmt', 'CreateForeignServerStmt', 'AlterForeignServerStmt', 'CreateFdwStmt', 'AlterFdwStmt',
  'CreateUserMappingStmt', 'AlterUserMappingStmt', 'ImportForeignSchemaStmt', 'AlterTableStmt',
]);

export function pgOptionEffects(type: string, s: Ast): OptionEffects {
  const out: OptionEffects = { effects: [], drops: false, functions: [] };
  const add = (e: Effect | undefined): void => {
    if (e !== undefined && !out.effects.includes(e)) out.effects.push(e);
  };
  const bind = (names: Ast[] | undefined): void => {
    const name = (names ?? []).map((p: Ast) => String(p?.String?.sval ?? '')).join('.').toLowerCase();
    if (name === '') return;
    out.functions.push(name);
    add(functionEffect(name));
  };
  switch (type) {
    case 'CreateFunctionStmt':
      functionOptions(s.options, add);
      break;
    case 'AlterFunctionStmt':
      functionOptions(s.actions, add);
      break;
    case 'AlterDatabaseSetStmt':
    case 'AlterRoleSetStmt': {
      const name = String(s.setstmt?.name ?? '').toLowerCase();
      if (STORED_PRIVILEGE_SETTINGS.has(name)) add('dcl');
      if (ADMIN_SETTINGS.has(name)) add('admin');
      break;
    }
    case 'AlterTableStmt':
      for (const cmd of s.cmds ?? []) {
        const c = cmd?.AlterTableCmd;
        if (c?.subtype === 'AT_DisableRowSecurity' || c?.subtype === 'AT_NoForceRowSecurity') add('dcl');
        if (c?.subtype === 'AT_AlterColumnType' && usingDiscards(c)) out.drops = true;
      }
      break;
    case 'CreatePolicyStmt':
      // permissive policies OR together: a new one can only widen what a role sees (RESTRICTIVE ones narrow)
      if (s.permissive === true) add('dcl');
      break;
    case 'AlterPolicyStmt':
      add('dcl');
      break;
    case 'DropStmt':
      // dropping a restrictive policy widens access as much as adding a permissive one does
      if (s.removeType === 'OBJECT_POLICY') add('dcl');
      break;
    case 'RenameStmt':
      if (s.renameType === 'OBJECT_ROLE') add('dcl');
      break;
    case 'DefineStmt':
      for (const d of s.definition ?? []) {
        const el = d?.DefElem;
        if (el && FUNCTION_KEYS.has(String(el.defname).toLowerCase())) bind(el.arg?.TypeName?.names ?? el.arg?.List?.items);
      }
      break;
    case 'CreateCastStmt':
      bind(s.func?.objname);
      break;
    case 'CreateConversionStmt':
      bind(s.func_name);
      break;
    case 'CreateTrigStmt':
      bind(s.funcname);
      break;
    case 'CreateTransformStmt':
      bind(s.fromsql?.objname);
      bind(s.tosql?.objname);
      break;
    case 'CreateExtensionStmt':
      add(EXTENSION_EFFECTS[String(s.extname ?? '').toLowerCase()]);
      break;
    case 'CreatePLangStmt':
      add(EXTENSION_EFFECTS[String(s.plname ?? '').toLowerCase()] ?? (s.pltrusted ? undefined : 'file'));
      break;
    case 'CreateForeignServerStmt':
      add(EXTENSION_EFFECTS[String(s.fdwname ?? '').toLowerCase()]);
      break;
    default:
      break;
  }
  if (FDW_STATEMENTS.has(type) && hasFileOption(s)) add('file');
  // a user mapping stores credentials other roles' queries will connect with
  if (type === 'CreateUserMappingStmt' || type === 'AlterUserMappingStmt') add('dcl');
  return out;
}

function functionOptions(options: Ast[] | undefined, add: (e: Effect) => void): void {
  for (const o of options ?? []) {
    const d = o?.DefElem;
    if (!d) continue;
    // SECURITY DEFINER: the body runs with the owner's (the privileged upstream role's) rights for every caller
    if (d.defname === 'security' && d.arg?.Boolean?.boolval === true) add('dcl');
    if (d.defname === 'set') {
      const name = String(d.arg?.VariableSetStmt?.name ?? '').toLowerCase();
      if (PRIVILEGE_SETTINGS.has(name)) add('dcl');
      if (ADMIN_SETTINGS.has(name)) add('admin');
    }
  }
}

/** `ALTER COLUMN c TYPE … USING <expr>` where <expr> does not read c: every value of c is replaced. */
function usingDiscards(cmd: Ast): boolean {
  const using = cmd.def?.ColumnDef?.raw_default;
  if (using === undefined) return false;
  const column = String(cmd.name ?? '').toLowerCase();
  return !readsColumn(using, column);
}

function readsColumn(node: Ast, column: string): boolean {
  if (Array.isArray(node)) return node.some((n) => readsColumn(n, column));
  if (node === null || typeof node !== 'object') return false;
  for (const key in node) {
    const v = node[key];
    if (key === 'ColumnRef') {
      const fields: Ast[] = v?.fields ?? [];
      const last = fields[fields.length - 1];
      if (last?.A_Star !== undefined || String(last?.String?.sval ?? '').toLowerCase() === column) return true;
      continue;
    }
    if (v !== null && typeof v === 'object' && readsColumn(v, column)) return true;
  }
  return false;
}

function hasFileOption(node: Ast): boolean {
  if (Array.isArray(node)) return node.some(hasFileOption);
  if (node === null || typeof node !== 'object') return false;
  for (const key in node) {
    const v = node[key];
    if (key === 'DefElem' && FILE_OPTIONS.has(String(v?.defname ?? '').toLowerCase())) return true;
    if (v !== null && typeof v === 'object' && hasFileOption(v)) return true;
  }
  return false;
}

/**
 * `INSERT INTO t … SELECT … FROM t … ON CONFLICT DO UPDATE`: every row the SELECT reads from t conflicts with
 * itself and is updated, so the upsert is an UPDATE of t scoped only as far as the SELECT's WHERE (or the DO
 * UPDATE's own WHERE) narrows t. Returns the implied UPDATE as a nested fact when it is not proven scoped.
 */
export function upsertUpdate(s: Ast, base: Pick<StatementFacts, 'index' | 'multiStatement'>): { update?: StatementFacts } | undefined {
  const oc = s.onConflictClause;
  if (oc?.action !== 'ONCONFLICT_UPDATE' || typeof s.relation?.relname !== 'string') return undefined;
  const target = String(s.relation.relname).toLowerCase();
  const schema = typeof s.relation.schemaname === 'string' ? String(s.relation.schemaname).toLowerCase() : undefined;
  const sources: { names: Set<string>; where: Ast }[] = [];
  collectSelfReads(s.selectStmt, target, schema, sources);
  if (sources.length === 0) return undefined;
  // the DO UPDATE … WHERE narrows on the existing row; a reference to `excluded` is the same row again
  const ownWhere = oc.whereClause;
  const targetNames = new Set([target, ...(typeof s.relation.alias?.aliasname === 'string' ? [String(s.relation.alias.aliasname).toLowerCase()] : [])]);
  if (ownWhere !== undefined && !JSON.stringify(ownWhere).includes('"excluded"') && pgUnscopedReason(ownWhere, targetNames) === undefined) return {};
  const reason = sources.map((src) => (src.where === undefined ? 'the SELECT reads every row of the target' : pgUnscopedReason(src.where, src.names))).find((r) => r !== undefined);
  if (reason === undefined) return {};
  const name = schema ? `${schema}.${String(s.relation.relname)}` : String(s.relation.relname);
  const update: StatementFacts = {
    kind: 'update', effects: ['write'], tables: [{ name, op: 'write' }], columns: [], functions: [], where: 'always-true',
    limit: 'absent', nested: true, multiStatement: base.multiStatement, index: base.index,
    whereReason: `an upsert fed from the table it writes updates every row it reads: ${reason}`,
  };
  return { update };
}

/** SELECTs (anywhere in the source) whose FROM names the target table, with the names it goes by there. */
function collectSelfReads(node: Ast, target: string, schema: string | undefined, out: { names: Set<string>; where: Ast }[]): void {
  if (Array.isArray(node)) {
    for (const n of node) collectSelfReads(n, target, schema, out);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const sel = node.SelectStmt;
  if (sel) {
    const names = new Set<string>();
    for (const rv of rangeVars(sel.fromClause)) {
      if (String(rv.relname).toLowerCase() !== target) continue;
      if (schema !== undefined && rv.schemaname !== undefined && String(rv.schemaname).toLowerCase() !== schema) continue;
      names.add(target);
      if (typeof rv.alias?.aliasname === 'string') names.add(String(rv.alias.aliasname).toLowerCase());
    }
    if (names.size > 0) out.push({ names, where: sel.whereClause });
  }
  for (const key in node) {
    const v = node[key];
    if (v !== null && typeof v === 'object') collectSelfReads(v, target, schema, out);
  }
}

/** RangeVars of a FROM list, through joins (not into subqueries: those are SELECTs of their own). */
function rangeVars(from: Ast): Ast[] {
  const out: Ast[] = [];
  const visit = (n: Ast): void => {
    if (Array.isArray(n)) return n.forEach(visit);
    if (n === null || typeof n !== 'object') return;
    if (n.RangeVar) out.push(n.RangeVar);
    if (n.JoinExpr) {
      visit(n.JoinExpr.larg);
      visit(n.JoinExpr.rarg);
    }
  };
  visit(from);
  return out;
}
