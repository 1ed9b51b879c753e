// PostgreSQL dialect: statement text → StatementFacts[] from the libpg-query AST (the server's own grammar).
import { plpgsqlStatements } from './pg-plpgsql.js';
import { parseSync, scanSync } from 'libpg-query';
import type { Effect, LimitStatus, ReadOptions, ReadingChange, StatementFacts, StatementKind, TableRef, WhereStatus } from './facts.js';
import { ADMIN_SETTINGS, PRIVILEGE_SETTINGS, functionEffect } from './postgres-functions.js';
import { RELATION_OBJECTS, classifyStatement, objectName } from './postgres-statements.js';
import { whereStatus } from './postgres-where.js';
import { pgUnscopedReason, pgWhereScope } from './pg-where-scope.js';
import type { AstNode as Ast } from './ast.js';
import { pgOptionEffects, upsertUpdate } from './effect-pg-options.js';

// Parsing with the server's grammar rather than a regex defends against the usual guardrail
// bypasses: comments hiding keywords, statements smuggled after `;`, DML in CTEs, keywords in
// string literals. Every failure path yields an 'unparsed' fact, which the rules block.

// libpg-query's AST is JSON walked by node name; the generated union types do not help a generic walk
type TableOp = TableRef['op'];

interface Context {
  index: number;
  multiStatement: boolean;
  /** CTE names anywhere in the top-level statement: `FROM x` naming a CTE is not a table */
  cteNames: Set<string>;
  /** the top-level statement's node and text (PL/pgSQL bodies are read from the statement's own text) */
  top?: Ast;
  source?: string;
}

interface Builder {
  kind: StatementKind;
  object?: string;
  effects: Set<Effect>;
  tables: Map<string, TableRef>;
  /** alias or bare relation name (lower-case) → table name */
  aliases: Map<string, string>;
  columnRefs: string[][];
  /** columns already resolved by nested statements */
  columns: Set<string>;
  functions: Set<string>;
  /** operators used: an existing user operator is what its function is (read grants, session/function-effects.ts) */
  operators?: Set<string>;
  /** the WHERE is scoped only if one of these column sets of the target is nullable (pg-where-scope.ts) */
  scopeIfNullable?: string[][];
  /** types named, as written (a user cast to one runs its function: read grants, session/function-effects.ts) */
  casts?: Set<string>;
  /** the statement has parameters ($n): a declared type may be one an implicit cast applies to */
  params?: boolean;
  where: WhereStatus | null;
  limit: LimitStatus | null;
  drops: boolean;
  /** why the WHERE is not proven scoped (pg-where-scope.ts), for the refusal */
  whereReason?: string;
  /** see StatementFacts.literalDependent */
  literalDependent?: boolean;
  nested: StatementFacts[];
  /** under a plain EXPLAIN nothing runs: list names, derive no effects, nest nothing */
  planOnly: boolean;
  /** column references inside an UPDATE's SET values */
  copyRefs?: string[][];
  /** column references inside WHERE, HAVING and JOIN … ON */
  predicateRefs?: string[][];
  /** `SELECT set_config(name, …) FROM pg_settings WHERE name = 'x'` (pg_dump's idiom): the setting is 'x' */
  settingsName?: string;
  /** reading barriers (see StatementFacts.reading) */
  reading?: ReadingChange[];
  ctx: Context;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** ALTER TABLE subcommands that lose a table's rows or switch off what its triggers and rules enforce. */
const DROPS_IN_DISGUISE = new Set([
  'AT_DetachPartition', 'AT_DetachPartitionFinalize', 'AT_DropInherit',
  'AT_DisableTrig', 'AT_DisableTrigAll', 'AT_DisableTrigUser', 'AT_EnableReplicaTrig',
  'AT_DisableRule', 'AT_EnableReplicaRule',
]);

/** Facts for every statement in `text`; requires the libpg-query module to be loaded. */
export function postgresFacts(text: string, opts: ReadOptions = {}): StatementFacts[] {
  if (text.includes('\0')) return [unparsed('NUL byte in statement text', text)];
  // With standard_conforming_strings off the server reads '\'' differently from this parser, so a
  // string literal could end in a different place for us than for the server (statement smuggling).
  if (opts.standardConformingStrings === false && text.includes('\\')) {
    return [unparsed('backslash in statement text while standard_conforming_strings is off', text)];
  }
  if (text.trim() === '') return [];
  let raw: Ast[];
  try {
    raw = (parseSync(text) as Ast).stmts ?? [];
  } catch (err) {
    return [syntaxError(err, text)];
  }
  try {
    const out: StatementFacts[] = [];
    const multiStatement = raw.length > 1;
    const bytes = /^[\x00-\x7f]*$/.test(text) ? null : encoder.encode(text);
    raw.forEach((r: Ast, index: number) => {
      const source = sliceStatement(text, bytes, r.stmt_location ?? 0, r.stmt_len).trim();
      const ctx: Context = { index, multiStatement, cteNames: new Set(), top: r.stmt, source };
      const facts = analyzeNode(r.stmt, ctx, false, false);
      const top = facts[0];
      if (top) top.text = source;
      out.push(...facts);
    });
    return out;
  } catch (err) {
    // a malformed or unexpectedly deep AST must not take the session down: fail closed
    return [unparsed(`statement analysis failed: ${err instanceof Error ? err.message : String(err)}`, text)];
  }
}

/**
 * libpg-query runs PostgreSQL's own grammar: its failure is the server's syntax error. The cursor position it
 * reports counts characters from 0; the server's counts them from 1.
 */
function syntaxError(err: unknown, text: string): StatementFacts {
  const f = unparsed(err instanceof Error ? err.message : String(err), text);
  const at = (err as { sqlDetails?: { cursorPosition?: number } })?.sqlDetails?.cursorPosition;
  f.syntaxError = {};
  if (typeof at === 'number' && at >= 0) f.syntaxError.position = at + 1;
  return f;
}

export function unparsed(error: string, text?: string): StatementFacts {
  const f: StatementFacts = {
    kind: 'unparsed', effects: [], tables: [], columns: [], functions: [], where: null, limit: null,
    nested: false, multiStatement: false, index: 0, error,
  };
  if (text !== undefined) f.text = text.trim();
  return f;
}

/** libpg-query positions count UTF-8 bytes; a missing length means "to the end". */
function sliceStatement(text: string, bytes: Uint8Array | null, start: number, len: number | undefined): string {
  if (bytes === null) return len === undefined ? text.slice(start) : text.slice(start, start + len);
  return decoder.decode(len === undefined ? bytes.subarray(start) : bytes.subarray(start, start + len));
}

/** One statement node ({XStmt: body}) → its fact followed by the facts of statements nested in it. */
function analyzeNode(node: Ast, ctx: Context, nested: boolean, planOnly: boolean): StatementFacts[] {
  const type = Object.keys(node ?? {})[0];
  if (type === undefined) return [];
  const body = node[type] ?? {};
  const cls = classifyStatement(type);
  const b: Builder = {
    kind: cls.kind, effects: new Set(cls.effects), tables: new Map(), aliases: new Map(), columnRefs: [],
    columns: new Set(), functions: new Set(), where: null, limit: null, drops: false, nested: [], planOnly, ctx,
  };
  if (cls.object !== undefined) b.object = cls.object;
  if (planOnly) b.effects.clear();
  describe(type, body, b);
  return [finish(b, nested), ...b.nested];
}

function describe(type: string, s: Ast, b: Builder): void {
  // effects carried by options and bindings (SECURITY DEFINER, RLS off, operators bound to functions, …)
  const opt = pgOptionEffects(type, s);
  for (const e of opt.effects) addEffect(b, e);
  if (opt.drops) b.drops = true;
  for (const f of opt.functions) b.functions.add(f);
  switch (type) {
    case 'SelectStmt':
      selectClauses(s, b, true);
      b.limit = s.limitCount !== undefined || s.limitOption === 'LIMIT_OPTION_WITH_TIES' ? 'present' : 'absent';
      return walk(s, b, 'read', ['intoClause']);
    case 'InsertStmt': {
      addTable(s.relation, b, 'write');
      // an upsert fed from its own table is an UPDATE of that table (effect-pg-options.ts)
      const up = b.planOnly ? undefined : upsertUpdate(s, b.ctx);
      // whether the upsert is scoped was decided by folding its SELECT's WHERE: literal-dependent facts
      if (up) b.literalDependent = true;
      if (up?.update) b.nested.push(up.update);
      return walk(s, b, 'read', ['relation']);
    }
    case 'UpdateStmt':
    case 'DeleteStmt':
      addTable(s.relation, b, 'write');
      if (s.targetList) {
        // SET x = <expr>: the columns <expr> reads end up stored in x
        const before = b.columnRefs.length;
        walk(s.targetList, b, 'read');
        b.copyRefs = b.columnRefs.slice(before);
      }
      b.where = s.whereClause?.CurrentOfExpr ? 'present' : whereStatus(s.whereClause);
      // present but never about the target's rows: not proven scoped (pg-where-scope.ts)
      if (b.where === 'present' && !s.whereClause?.CurrentOfExpr) {
        const scope = pgWhereScope(s.whereClause, selfJoinedNames(s.relation, s.fromClause ?? s.usingClause));
        notScoped(scope.why, b);
        // scoped after all if the catalog shows these columns nullable (session.ts, family c of issue 12)
        if (scope.why !== undefined && scope.ifNullable) b.scopeIfNullable = scope.ifNullable;
      }
      b.limit = 'absent';
      return walk(s, b, 'read', ['relation']);
    case 'MergeStmt':
      addTable(s.relation, b, 'write');
      // MERGE always has ON; `ON true` touches every row like a DELETE without WHERE, unless every WHEN MATCHED
      // clause that updates or deletes carries its own scoped condition (then that condition picks the rows)
      b.where = mergeWhere(s);
      if (b.where === 'always-true') b.whereReason = 'the ON condition and the WHEN MATCHED conditions do not narrow the target';
      return walk(s, b, 'read', ['relation']);
    case 'LockStmt':
      // ACCESS SHARE (mode 1) is the lock every SELECT takes (pg_dump asks for it); stronger modes block writers
      if (s.mode === 1) b.effects = new Set(['read']);
      for (const rv of s.relations ?? []) addTable(rv?.RangeVar, b, s.mode === 1 ? 'read' : 'write');
      return;
    case 'CopyStmt':
      if (s.relation) addTable(s.relation, b, s.is_from ? 'write' : 'read');
      addEffect(b, s.is_from ? 'write' : 'read');
      // COPY t TO reads the listed columns, or every column (what masking rules must see)
      if (s.relation && !s.is_from) {
        const cols: Ast[] = s.attlist ?? [];
        if (cols.length) for (const c of cols) b.columnRefs.push([String(c?.String?.sval ?? '*')]);
        else b.columnRefs.push(['*']);
      }
      if (s.filename !== undefined || s.is_program) addEffect(b, 'file');
      if (s.query) nest(s.query, b);
      return walk(s, b, 'read', ['relation', 'query']);
    case 'TruncateStmt':
      return walk(s, b, 'write');
    case 'ExplainStmt': {
      // the server applies options in order, so the last ANALYZE option decides (ANALYZE true, ANALYZE false plans only)
      const last = (s.options ?? []).filter((o: Ast) => o?.DefElem?.defname === 'analyze').pop();
      const analyze = last !== undefined && !isFalse(last.DefElem.arg);
      // EXPLAIN ANALYZE executes its statement; plain EXPLAIN only plans it
      if (analyze && !b.planOnly) nest(s.query, b);
      else walkPlanOnly(s.query, b);
      return walk(s, b, 'read', ['query']);
    }
    case 'PrepareStmt':
      nest(s.query, b);
      return walk(s, b, 'read', ['query']);
    case 'CreateTableAsStmt':
      b.object = objectName(s.objtype) ?? 'table';
      addTable(s.into?.rel, b, 'ddl');
      nest(s.query, b);
      return walk(s, b, 'ddl', ['query', 'into']);
    case 'RuleStmt':
      addTable(s.relation, b, 'ddl');
      // DO INSTEAD NOTHING on INSERT/UPDATE/DELETE: every later write to the table silently does nothing
      if (s.instead && s.event !== 'CMD_SELECT' && !(s.actions ?? []).length) b.drops = true;
      for (const action of s.actions ?? []) nest(action, b);
      return walk(s, b, 'read', ['relation', 'actions']);
    case 'CreateFunctionStmt':
      return createFunction(s, b);
    case 'CallStmt':
      if (s.funccall) addFunction(s.funccall, b);
      return walk(s, b, 'read', ['funccall']);
    case 'VariableSetStmt':
      return setVariable(s, b);
    case 'DiscardStmt':
      if (s.target === 'DISCARD_ALL') addReading(b, '*', null);
      return walk(s, b, 'read');
    case 'AlterSystemStmt':
      return walk(s, b, 'read', ['setstmt']);
    case 'DropStmt':
      return drop(s, b);
    case 'GrantStmt':
      b.kind = s.is_grant ? 'grant' : 'revoke';
      b.object = objectName(s.objtype);
      return walk(s, b, 'ddl');
    case 'GrantRoleStmt':
      b.kind = s.is_grant ? 'grant' : 'revoke';
      return walk(s, b, 'ddl');
    case 'CreateRoleStmt':
      b.object = s.stmt_type === 'ROLESTMT_USER' ? 'user' : s.stmt_type === 'ROLESTMT_GROUP' ? 'group' : 'role';
      return walk(s, b, 'ddl');
    case 'AlterTableStmt':
      b.object = objectName(s.objtype) ?? 'table';
      for (const cmd of s.cmds ?? []) {
        const sub = cmd?.AlterTableCmd?.subtype;
        // DROP COLUMN / CONSTRAINT, and constraints dropped in disguise: DROP NOT NULL / DEFAULT / IDENTITY / EXPRESSION
        if (sub === 'AT_DropColumn' || sub === 'AT_DropConstraint' || sub === 'AT_DropNotNull' || sub === 'AT_DropIdentity' || sub === 'AT_DropExpression') b.drops = true;
        if (sub === 'AT_ColumnDefault' && cmd.AlterTableCmd.def === undefined) b.drops = true;
        // rows leaving the table without a DELETE (DETACH PARTITION, NO INHERIT), and the table's triggers and rules
        // switched off or made to fire only in replica sessions (ENABLE REPLICA): what they enforced (audit history,
        // integrity, soft deletes) silently stops for every later statement
        if (DROPS_IN_DISGUISE.has(sub)) b.drops = true;
        // handing a table to another role is a privilege change, as ALTER … OWNER TO on other objects is
        if (sub === 'AT_ChangeOwner') b.effects.add('dcl');
      }
      return walk(s, b, 'ddl');
    case 'AlterDomainStmt':
      if (s.subtype === 'X') b.drops = true; // ALTER DOMAIN … DROP CONSTRAINT
      return walk(s, b, 'ddl');
    case 'RenameStmt':
      b.object = objectName(s.renameType) ?? b.object;
      return walk(s, b, 'ddl');
    case 'AlterObjectSchemaStmt':
    case 'AlterOwnerStmt':
      b.object = objectName(s.objectType) ?? b.object;
      return walk(s, b, 'ddl');
    case 'AlterFunctionStmt':
    case 'DefineStmt':
      b.object = objectName(s.objtype ?? s.kind) ?? b.object;
      return walk(s, b, 'ddl');
    case 'DoStmt':
      // a static PL/pgSQL block is read: its statements decide (sql/pg-plpgsql.ts); other code stays dynamic
      if (doLanguage(s) === 'plpgsql' && nestPlpgsql(b)) b.effects.delete('dynamic');
      return walk(s, b, 'read');
    case 'TransactionStmt':
    case 'VariableShowStmt':
    case 'ExecuteStmt':
      return walk(s, b, 'read');
    default:
      return walk(s, b, b.kind === 'other' ? 'read' : 'ddl');
  }
}

function selectClauses(s: Ast, b: Builder, top: boolean): void {
  // SELECT … FOR UPDATE/SHARE takes row locks: a write as far as a read-only grant is concerned
  if (s.lockingClause) addEffect(b, 'write');
  b.settingsName = pgSettingsName(s);
  if (top && s.intoClause) {
    addEffect(b, 'write');
    addEffect(b, 'ddl');
    addTable(s.intoClause.rel, b, 'write');
  }
}

/** The setting named by `… FROM [pg_catalog.]pg_settings WHERE name = 'literal'`, if that is the query's shape. */
function pgSettingsName(s: Ast): string | undefined {
  const from: Ast[] = s.fromClause ?? [];
  const rv = from.length === 1 ? from[0]?.RangeVar : undefined;
  if (!rv || rv.relname !== 'pg_settings' || (rv.schemaname && rv.schemaname !== 'pg_catalog')) return undefined;
  const e = s.whereClause?.A_Expr;
  if (!e || e.kind !== 'AEXPR_OP' || e.name?.[0]?.String?.sval !== '=') return undefined;
  const col = e.lexpr?.ColumnRef?.fields;
  const lit = e.rexpr?.A_Const?.sval?.sval;
  if (col?.length !== 1 || col[0]?.String?.sval !== 'name' || typeof lit !== 'string') return undefined;
  return lit;
}

function createFunction(s: Ast, b: Builder): void {
  b.object = s.is_procedure ? 'procedure' : 'function';
  let language: string | undefined;
  let body: string | undefined;
  for (const o of s.options ?? []) {
    const d = o?.DefElem;
    if (d?.defname === 'language') language = String(d.arg?.String?.sval ?? '').toLowerCase();
    if (d?.defname === 'as') {
      const items: Ast[] = d.arg?.List?.items ?? [];
      if (items.length === 1) body = items[0]?.String?.sval;
    }
  }
  if (s.sql_body !== undefined) language ??= 'sql';
  if ((language === 'sql' || language === 'plpgsql') && body !== undefined) rereadBodyCheck(body);
  if (language === 'plpgsql' && nestPlpgsql(b)) {
    // a PL/pgSQL body without dynamic SQL: its statements are nested facts, decided as if sent (sql/pg-plpgsql.ts)
  } else if (language !== 'sql') {
    // plpgsql with EXECUTE and other languages run code built at run time: the broker cannot see that code
    addEffect(b, 'dynamic');
    if (language === 'c' || language === 'internal') addEffect(b, 'file');
  } else if (body !== undefined) {
    // a SQL body is plain SQL we can read: its statements become nested facts
    let stmts: Ast[] | undefined;
    try {
      stmts = (parseSync(body) as Ast).stmts ?? [];
    } catch {
      addEffect(b, 'dynamic');
    }
    for (const st of stmts ?? []) nest(st.stmt, b);
  }
  walk(s, b, 'ddl', ['options']);
}

/**
 * A SQL or PL/pgSQL function body given as a string is read again by the server at every call (SQL) or first call
 * in a session (PL/pgSQL), under that session's standard_conforming_strings, not the creator's. A backslash in a
 * plain '…' literal ends the literal in a different place under off than under on, so the statements the broker
 * decided at CREATE could run as different ones (`v = 'x\' AND id = 1 -- ' OR true` is scoped under on and deletes
 * every row under off). Such a body is refused; E'…' and dollar-quoted strings, comments and identifiers read the
 * same under both settings. Throws (postgresFacts turns it into an unparsed fact: fail closed).
 */
function rereadBodyCheck(body: string): void {
  if (!body.includes('\\')) return;
  let tokens: { text: string; tokenName: string }[];
  try {
    tokens = scanSync(body).tokens;
  } catch {
    throw new Error('the function body could not be scanned');
  }
  for (const t of tokens) {
    if (!t.text.includes('\\')) continue;
    const head = t.text.replace(/^[nN](?=')/, '');
    if (head.startsWith("'") || /^[uU]&'/.test(head) || /^[bBxX]'/.test(head)) {
      throw new Error("a backslash in a '…' string of a function body: the server reads the body again at each call under the caller's standard_conforming_strings, where it can end the string elsewhere; write E'…' or a dollar-quoted string");
    }
  }
}

/** DO's language (default plpgsql). */
function doLanguage(s: Ast): string {
  const d = (s.args ?? []).map((a: Ast) => a?.DefElem).find((d: Ast) => d?.defname === 'language');
  return String(d?.arg?.String?.sval ?? 'plpgsql').toLowerCase();
}

/**
 * The embedded statements of the top-level statement's PL/pgSQL body, nested as if sent; false when the body cannot
 * be read statically (dynamic SQL, or the node is not the top-level statement whose text is known).
 */
function nestPlpgsql(b: Builder): boolean {
  const top = b.ctx.top;
  const node = top?.DoStmt ?? top?.CreateFunctionStmt;
  if (!node || b.ctx.source === undefined || b.planOnly) return false;
  const stmts = plpgsqlStatements(b.ctx.source);
  if (!stmts) return false;
  for (const sql of stmts) for (const st of (parseSync(sql) as Ast).stmts ?? []) nest(st.stmt, b);
  return true;
}

function targetNames(rv: Ast): Set<string> {
  const out = new Set<string>();
  if (typeof rv?.relname === 'string') out.add(rv.relname.toLowerCase());
  if (typeof rv?.alias?.aliasname === 'string') out.add(rv.alias.aliasname.toLowerCase());
  return out;
}

/**
 * The target's names plus the aliases under which UPDATE … FROM / DELETE … USING joins the same table again: a
 * self-join on the key (`DELETE FROM t USING t t2 WHERE t.id = t2.id`) pairs every row with itself, so a condition
 * between the two is the row compared with itself, while a condition on the second alias alone still narrows.
 */
function selfJoinedNames(rv: Ast, from: Ast): Set<string> {
  const out = targetNames(rv);
  const rel = typeof rv?.relname === 'string' ? rv.relname.toLowerCase() : undefined;
  const visit = (n: Ast): void => {
    if (Array.isArray(n)) return n.forEach(visit);
    if (n === null || typeof n !== 'object') return;
    const r = n.RangeVar;
    if (r && String(r.relname).toLowerCase() === rel && (r.schemaname ?? rv.schemaname) === rv.schemaname) out.add(String(r.alias?.aliasname ?? r.relname).toLowerCase());
    visit(n.JoinExpr?.larg);
    visit(n.JoinExpr?.rarg);
  };
  visit(from);
  return out;
}

/** The target's names, plus the MERGE source's alias when the source is every row of the target itself. */
function selfSourceNames(rv: Ast, source: Ast): Set<string> {
  const out = targetNames(rv);
  const rel = typeof rv?.relname === 'string' ? rv.relname.toLowerCase() : undefined;
  const same = (r: Ast) => r !== undefined && String(r.relname).toLowerCase() === rel && (r.schemaname ?? rv.schemaname) === rv.schemaname;
  if (same(source?.RangeVar)) out.add(String(source.RangeVar.alias?.aliasname ?? source.RangeVar.relname).toLowerCase());
  const sub = source?.RangeSubselect;
  const sel = sub?.subquery?.SelectStmt;
  if (sel && sub.alias?.aliasname && wholeTableSelect(sel, same)) out.add(String(sub.alias.aliasname).toLowerCase());
  return out;
}

/** A SELECT of one relation (matched by `same`) with no narrowing WHERE, LIMIT, HAVING or set operation. */
function wholeTableSelect(sel: Ast, same: (rv: Ast) => boolean): boolean {
  if ((sel.op && sel.op !== 'SETOP_NONE') || sel.limitCount !== undefined || sel.havingClause !== undefined || sel.fromClause?.length !== 1) return false;
  const rv = sel.fromClause[0]?.RangeVar;
  if (!same(rv)) return false;
  if (sel.whereClause === undefined) return true;
  const inner = new Set([String(rv.alias?.aliasname ?? rv.relname).toLowerCase()]);
  return whereStatus(sel.whereClause) === 'always-true' || pgUnscopedReason(sel.whereClause, inner) !== undefined;
}

function notScoped(why: string | undefined, b: Builder): void {
  if (why === undefined) return;
  b.where = 'always-true';
  b.whereReason = why;
}

function mergeWhere(s: Ast): 'always-true' | 'present' {
  // MERGE joining the table to itself (`USING t s`, `USING (SELECT id FROM t) s`): its source alias is the row
  const names = selfSourceNames(s.relation, s.sourceRelation);
  if (whereStatus(s.joinCondition) !== 'always-true' && pgUnscopedReason(s.joinCondition, names) === undefined) return 'present';
  const touching = (s.mergeWhenClauses ?? [])
    .map((c: Ast) => c?.MergeWhenClause)
    .filter((c: Ast) => c && c.matchKind !== 'MERGE_WHEN_NOT_MATCHED_BY_TARGET' && c.commandType !== 'CMD_NOTHING' && c.commandType !== 'CMD_INSERT');
  const scoped = (c: Ast): boolean => c.condition !== undefined && whereStatus(c.condition) === 'present' && pgUnscopedReason(c.condition, names) === undefined;
  return touching.every(scoped) ? 'present' : 'always-true';
}

/** SET ROLE NONE / set_config('role', 'none', …): back to the login role, like RESET ROLE (unquoted NONE is 'none'). */
export function isRoleNone(setting: string, value: unknown): boolean {
  return setting.toLowerCase() === 'role' && value === 'none';
}

function setVariable(s: Ast, b: Builder): void {
  const name = String(s.name ?? '').toLowerCase();
  // SET ROLE / SET SESSION AUTHORIZATION change whose privileges the session uses
  // RESET ROLE / SET ROLE DEFAULT / SET ROLE NONE only return to the login role, which is no privilege change
  const args: Ast[] = s.args ?? [];
  const returning = s.kind === 'VAR_RESET' || s.kind === 'VAR_SET_DEFAULT'
    || (s.kind === 'VAR_SET_VALUE' && args.length === 1 && isRoleNone(name, args[0]?.A_Const?.sval?.sval));
  if (PRIVILEGE_SETTINGS.has(name) && !returning) addEffect(b, 'dcl');
  if (ADMIN_SETTINGS.has(name)) addEffect(b, 'admin');
  // reading barriers: later text may be read differently (SET NAMES is client_encoding to the parser)
  if (s.kind === 'VAR_RESET_ALL') addReading(b, '*', null);
  else if (READING_SETTINGS.has(name)) {
    const v = s.args?.[0]?.A_Const;
    const value = returning ? null : s.args?.length === 1 && v ? String(v.sval?.sval ?? v.ival?.ival ?? v.boolval?.boolval ?? '') : undefined;
    addReading(b, name, value);
  }
  walk(s, b, 'read');
}

/** Settings that change how the server reads later statement text. */
const READING_SETTINGS = new Set(['client_encoding', 'standard_conforming_strings', 'backslash_quote']);

function addReading(b: Builder, setting: string, value: string | null | undefined): void {
  (b.reading ??= []).push(value === undefined ? { setting } : { setting, value });
}

function drop(s: Ast, b: Builder): void {
  const object = objectName(s.removeType);
  if (object !== undefined) b.object = object;
  if (object !== undefined && RELATION_OBJECTS.has(object)) {
    for (const o of s.objects ?? []) {
      const parts: Ast[] = o?.List?.items ?? [];
      const name = parts.map((p) => p?.String?.sval).filter((x): x is string => typeof x === 'string');
      if (name.length > 0) addTableName(name.slice(-2).join('.'), b, 'ddl');
    }
  }
  walk(s, b, 'ddl', ['objects']);
}

function isFalse(arg: Ast): boolean {
  if (arg === undefined) return false; // bare ANALYZE means on
  if (arg.Boolean) return !(arg.Boolean.boolval ?? false);
  if (arg.Integer) return (arg.Integer.ival ?? 0) === 0;
  if (arg.String) return ['false', 'off', '0', 'no'].includes(String(arg.String.sval ?? '').toLowerCase());
  return false;
}

/** Generic AST walk: tables (RangeVar, wrapped or not), columns, functions, nested statements. */
const NO_SKIP: readonly string[] = [];

/** where conditions live in the AST: their column references are also `predicates` */
const PREDICATE_KEYS = new Set(['whereClause', 'havingClause', 'quals']);

function walk(node: Ast, b: Builder, op: TableOp, skip: readonly string[] = NO_SKIP): void {
  if (Array.isArray(node)) {
    for (const n of node) walk(n, b, op);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  if (typeof node.relname === 'string' && typeof node.relpersistence === 'string') {
    addTable(node, b, op);
    return;
  }
  for (const cte of node.withClause?.ctes ?? []) {
    const name = cte?.CommonTableExpr?.ctename;
    if (typeof name === 'string') b.ctx.cteNames.add(name.toLowerCase());
  }
  for (const key in node) {
    if (skip.includes(key)) continue;
    const v = node[key];
    if (v === null || typeof v !== 'object') continue;
    if (key === 'A_Expr' && Array.isArray(v.name)) {
      const op = (v.name as Ast[]).map((p) => String(p?.String?.sval ?? '')).join('.').toLowerCase();
      if (op) (b.operators ??= new Set()).add(op);
    }
    // every type the statement names (TypeCast and typed literals, column definition lists, XMLSERIALIZE, PREPARE
    // argument types, …): converting to a type runs the user functions of casts to it, and a type written with
    // modifiers (`'a'::t(5)`) runs its typmod_in function at parse time (session/function-effects.ts)
    if (key === 'typeName' || key === 'TypeName') {
      const t = ((v.names ?? []) as Ast[]).map((p) => String(p?.String?.sval ?? '')).join('.');
      if (t) (b.casts ??= new Set()).add(t);
    }
    // a parameter's type is the client's to declare (Parse): it may be a user type an implicit cast converts
    if (key === 'ParamRef') b.params = true;
    if (key === 'FuncCall') {
      addFunction(v, b);
      walk(v, b, 'read');
    } else if (key === 'ColumnRef') {
      addColumnRef(v, b);
    } else if (PREDICATE_KEYS.has(key)) {
      const before = b.columnRefs.length;
      walk(v, b, op);
      (b.predicateRefs ??= []).push(...b.columnRefs.slice(before));
    } else if (key === 'SelectStmt') {
      selectClauses(v, b, false);
      walk(v, b, 'read');
    } else if (key.endsWith('Stmt') && /^[A-Z]/.test(key)) {
      // DML in a CTE (and any other statement inside a statement) is checked as a statement of its own
      if (b.planOnly) walk(v, b, 'read');
      else nest({ [key]: v }, b);
    } else {
      walk(v, b, op);
    }
  }
}

function walkPlanOnly(node: Ast, b: Builder): void {
  const saved = b.planOnly;
  b.planOnly = true;
  walk(node, b, 'read');
  b.planOnly = saved;
}

function nest(node: Ast, b: Builder): void {
  if (node === undefined || node === null) return;
  const facts = analyzeNode(node, b.ctx, true, b.planOnly);
  const [first] = facts;
  if (!first) return;
  for (const e of first.effects) b.effects.add(e);
  for (const t of first.tables) b.tables.set(`${t.op}:${t.name}`, t);
  for (const col of first.columns) b.columns.add(col);
  for (const f of first.functions) b.functions.add(f);
  b.nested.push(...facts);
}

function addEffect(b: Builder, e: Effect): void {
  if (!b.planOnly) b.effects.add(e);
}

function addTable(rv: Ast, b: Builder, op: TableOp): void {
  if (!rv || typeof rv.relname !== 'string') return;
  const name = rv.schemaname ? `${rv.schemaname}.${rv.relname}` : rv.relname;
  addTableName(name, b, op);
  const alias = rv.alias?.aliasname;
  if (typeof alias === 'string') b.aliases.set(alias.toLowerCase(), name);
  b.aliases.set(String(rv.relname).toLowerCase(), name);
}

function addTableName(name: string, b: Builder, op: TableOp): void {
  b.tables.set(`${op}:${name}`, { name, op });
}

function addFunction(fc: Ast, b: Builder): void {
  const parts: Ast[] = fc.funcname ?? [];
  const name = parts.map((p) => String(p?.String?.sval ?? '')).join('.').toLowerCase();
  if (name === '') return;
  b.functions.add(name);
  if (b.planOnly) return;
  const base = name.slice(name.lastIndexOf('.') + 1);
  if (base === 'set_config') {
    const first = fc.args?.[0];
    const fromSettings = first?.ColumnRef?.fields?.length === 1 && first.ColumnRef.fields[0]?.String?.sval === 'name' ? b.settingsName : undefined;
    const setting = first?.A_Const?.sval?.sval ?? first?.TypeCast?.arg?.A_Const?.sval?.sval ?? fromSettings;
    // set_config('role', …) is SET ROLE by another name; a non-constant name could be anything
    const value = fc.args?.[1]?.A_Const?.sval?.sval ?? fc.args?.[1]?.TypeCast?.arg?.A_Const?.sval?.sval;
    if (typeof setting === 'string' && READING_SETTINGS.has(setting.toLowerCase())) {
      const v = fc.args?.[1]?.A_Const ?? fc.args?.[1]?.TypeCast?.arg?.A_Const;
      addReading(b, setting.toLowerCase(), typeof v?.sval?.sval === 'string' ? v.sval.sval : undefined);
    }
    if (typeof setting !== 'string') b.effects.add('admin');
    else if (isRoleNone(setting, value)) b.effects.add('session');
    else if (PRIVILEGE_SETTINGS.has(setting.toLowerCase())) { b.effects.add('admin'); b.effects.add('dcl'); }
    else if (ADMIN_SETTINGS.has(setting.toLowerCase())) b.effects.add('admin');
    else b.effects.add('session');
    return;
  }
  const effect = functionEffect(name);
  if (effect) b.effects.add(effect);
}

function addColumnRef(cr: Ast, b: Builder): void {
  const fields: Ast[] = cr.fields ?? [];
  const names = fields.map((f) => (f?.A_Star !== undefined ? '*' : typeof f?.String?.sval === 'string' ? f.String.sval : undefined));
  if (names.some((n) => n === undefined)) return;
  b.columnRefs.push(names as string[]);
}

function finish(b: Builder, nested: boolean): StatementFacts {
  const tables = [...b.tables.values()].filter((t) => !(t.op === 'read' && !t.name.includes('.') && b.ctx.cteNames.has(t.name.toLowerCase())));
  if (tables.some((t) => t.op === 'read') && !b.planOnly) b.effects.add('read');
  const tableNames = [...new Set(tables.map((t) => t.name))];
  const columns = new Set(b.columns);
  for (const ref of b.columnRefs) columns.add(resolveColumn(ref, b, tableNames));
  const facts: StatementFacts = {
    kind: b.kind,
    effects: [...b.effects],
    tables,
    columns: [...columns],
    functions: [...b.functions],
    ...(b.operators?.size ? { operators: [...b.operators] } : {}),
    ...(b.casts?.size ? { casts: [...b.casts] } : {}),
    ...(b.params ? { params: true } : {}),
    where: b.where,
    limit: b.limit,
    nested,
    multiStatement: b.ctx.multiStatement,
    index: b.ctx.index,
  };
  if (b.object !== undefined) facts.object = b.object;
  if (b.drops) facts.drops = true;
  if (b.literalDependent) facts.literalDependent = true;
  if (b.whereReason !== undefined) facts.whereReason = b.whereReason;
  if (b.scopeIfNullable) facts.scopeIfNullable = b.scopeIfNullable;
  if (b.reading) facts.reading = b.reading;
  if (b.predicateRefs?.length) facts.predicates = [...new Set(b.predicateRefs.map((ref) => resolveColumn(ref, b, tableNames)))];
  if (b.copyRefs?.length) facts.copies = [...new Set(b.copyRefs.map((ref) => resolveColumn(ref, b, tableNames)))];
  return facts;
}

/** Best effort: `alias.col` → table.col; a bare column is qualified only when one table is in play. */
function resolveColumn(ref: string[], b: Builder, tableNames: string[]): string {
  const col = ref[ref.length - 1]!;
  if (ref.length === 1) {
    // a bare table name or alias is a whole-row reference (row_to_json(u), SELECT u FROM t u): every column
    const whole = b.aliases.get(col.toLowerCase());
    if (whole !== undefined) return `${whole}.*`;
    if (col === '*') return tableNames.length === 1 ? `${tableNames[0]}.*` : '*';
    return tableNames.length === 1 ? `${tableNames[0]}.${col}` : col;
  }
  if (ref.length === 2) {
    const table = b.aliases.get(ref[0]!.toLowerCase());
    return table !== undefined ? `${table}.${col}` : ref.join('.');
  }
  return ref.slice(-3).join('.');
}
