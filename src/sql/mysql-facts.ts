// MySQL/MariaDB dialect: statement text → StatementFacts[] via our lexer, sqlparser-rs and a keyword fallback.
import { parse as parseSqlparser } from '@guanmingchiu/sqlparser-ts';
import type { Effect, LimitStatus, ReadOptions, ReadingChange, StatementFacts, StatementKind, TableRef, WhereStatus } from './facts.js';
import { fallbackFacts, hasScopeWord, type FallbackFacts } from './mysql-fallback.js';
import { killFacts } from './mysql-kill.js';
import { useDatabase } from './mysql-use.js';
import { tokenDatabases } from './mysql-databases.js';
import { showSources } from './mysql-show-sources.js';
import { explainPrintsText } from './mysql-explain.js';
import { ADMIN_VARIABLES, GLOBAL_PREFIXES, PRIVILEGE_VARIABLES, mysqlFunctionEffect } from './mysql-functions.js';
import { modeledSqlMode, mysqlReadingChanges } from './mysql-reading.js';
import { lexMysql, versionGates, type LexedStatement, type ServerModel } from './mysql-lexer.js';
import { rewriteForParser } from './mysql-rewrites.js';
import { routineCompoundBody, routineSingleBody, type CompoundBodyStatement } from './mysql-routine-body.js';
import { RELATION_OBJECTS, classifyVariant, objectName } from './mysql-statements.js';
import { calledNames, findTopLevelWord, tokenize, wordsAt, type Token } from './mysql-tokens.js';
import { hasMisreadOperator, mysqlWhereStatus } from './mysql-where.js';
import { joinUnscopedReason, mysqlWhereScope, type JoinedRelation } from './mysql-where-scope.js';
import type { AstNode as Ast } from './ast.js';
import { mysqlTokenEffects, mysqlUpsertUpdate, strictSqlMode } from './effect-mysql.js';

// The server's own reading of the text decides: the lexer (mysql-lexer.ts) turns the client text
// into canonical statements exactly as the server would split and un-comment them, and only then
// does a parser see it. Every failure path yields an 'unparsed' fact, which the rules block.

// sqlparser-rs's AST is serde JSON walked by variant name; its generated types do not help a generic walk
type TableOp = TableRef['op'];

/** PREPARE 'SELECT …' inside PREPARE … : deeper nesting than this is refused. */
const MAX_DEPTH = 4;
/** Distinct ways of reading one text (server flavour/version/sql_mode unknown) before we give up. */
const MAX_READINGS = 8;
/** Oldest servers considered when the version is unknown: MySQL 5.7, MariaDB 10.0. */
const OLDEST_MYSQL = 50700;
const OLDEST_MARIADB = 100000;
const NEWEST = 999999;

interface Context {
  index: number;
  multiStatement: boolean;
  opts: ReadOptions;
  depth: number;
}

interface Builder {
  kind: StatementKind;
  object?: string;
  effects: Set<Effect>;
  tables: Map<string, TableRef>;
  /** alias or bare table name (lower-case) → table name */
  aliases: Map<string, string>;
  cteNames: Set<string>;
  columnRefs: string[][];
  /** column references inside an UPDATE's SET values */
  copyRefs?: string[][];
  /** column references inside WHERE, HAVING and JOIN … ON */
  predicateRefs?: string[][];
  columns: Set<string>;
  functions: Set<string>;
  /** databases named by qualified table and routine names (StatementFacts.databases) */
  databases: Set<string>;
  where: WhereStatus | null;
  limit: LimitStatus | null;
  drops: boolean;
  /** see StatementFacts.literalDependent */
  literalDependent?: boolean;
  nested: StatementFacts[];
  /** under a plain EXPLAIN nothing runs: list names, derive no effects, nest nothing */
  planOnly: boolean;
  /** the parsed text had DIV rewritten to `/` (mysql-rewrites.ts): the WHERE folder must not evaluate divisions */
  opaqueDivide?: boolean;
  /** why the WHERE is not proven scoped, for the refusal */
  whereReason?: string;
  /** the WHERE is scoped only if one of these column sets of the target is nullable (mysql-where-scope.ts) */
  scopeIfNullable?: string[][];
  prepared?: StatementFacts['prepared'];
  /** see StatementFacts.composite */
  composite?: boolean;
  ctx: Context;
}

/**
 * Facts for every statement in `text`. ReadOptions left undefined are unknown: the text is read
 * under every server flavour, version gate and quoting mode that would read it differently, and
 * the facts of all readings are returned, so a statement is allowed only if every reading is.
 */
export function mysqlFacts(text: string, opts: ReadOptions = {}): StatementFacts[] {
  try {
    return readAll(text, opts, 0);
  } catch (err) {
    // a malformed or unexpectedly deep AST must not take the session down: fail closed
    return [unparsed(`statement analysis failed: ${err instanceof Error ? err.message : String(err)}`, text)];
  }
}

export function unparsed(error: string, text?: string): StatementFacts {
  const f: StatementFacts = {
    kind: 'unparsed', effects: [], tables: [], columns: [], functions: [], where: null, limit: null,
    nested: false, multiStatement: false, index: 0, error,
  };
  if (text !== undefined) f.text = text.trim();
  return f;
}

function readAll(text: string, opts: ReadOptions, depth: number): StatementFacts[] {
  if (text.includes('\0')) return [unparsed('NUL byte in statement text', text)];
  // A statement that changes sql_mode changes how the REST of the same text is lexed (NO_BACKSLASH_ESCAPES,
  // ANSI_QUOTES): `SET sql_mode='NO_BACKSLASH_ESCAPES'; SELECT '\'; DELETE FROM t; -- '` is one string under the
  // session's mode and a DELETE after the SET. The session's known quoting modes then hold only for the first
  // statement, so the text is read under every quoting mode (the live broker knew the mode and missed this).
  if ((opts.ansiQuotes !== undefined || opts.noBackslashEscapes !== undefined) && /sql_mode/i.test(text) && text.includes(';')) {
    const { ansiQuotes: _a, noBackslashEscapes: _b, ...rest } = opts;
    opts = rest;
  }
  const readings = new Map<string, LexedStatement[]>();
  const modes = readingModes(text, opts);
  let firstError: string | undefined;
  for (const mode of modes) {
    const r = lexMysql(text, mode);
    if (!r.ok) {
      // unsure how the server reads it, or the one reading we have is broken: refuse
      if (!r.rejected || modes.length === 1) return [unparsed(r.error, text)];
      // under this (unconfirmed) mode the server would reject the text at the failure point,
      // after running what came before it
      firstError ??= r.error;
      if (r.statements.length === 0) continue;
    }
    readings.set(JSON.stringify(r.statements.map((s) => s.text)), r.statements);
    if (readings.size > MAX_READINGS) return [unparsed('too many possible readings of version comments and quoting', text)];
  }
  if (readings.size === 0 && firstError !== undefined) return [unparsed(firstError, text)];
  const out: StatementFacts[] = [];
  const seen = new Set<string>();
  for (const statements of readings.values()) {
    for (const f of factsOf(statements, opts, depth)) {
      const key = JSON.stringify(f);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(f);
    }
  }
  return out;
}

interface Mode {
  server: ServerModel;
  ansiQuotes: boolean;
  noBackslashEscapes: boolean;
}

/** Every combination of the unknown read settings that could change how `text` reads. */
function readingModes(text: string, opts: ReadOptions): Mode[] {
  const flavours = opts.mariadb !== undefined ? [opts.mariadb] : text.includes('/*') ? [false, true] : [true];
  const gates = versionGates(text);
  const ansi = opts.ansiQuotes !== undefined ? [opts.ansiQuotes] : text.includes('"') ? [false, true] : [false];
  const nbe = opts.noBackslashEscapes !== undefined ? [opts.noBackslashEscapes] : text.includes('\\') ? [false, true] : [false];
  const modes: Mode[] = [];
  for (const mariadb of flavours) {
    const versions = opts.serverVersion !== undefined ? [opts.serverVersion] : candidateVersions(gates, mariadb);
    for (const version of versions) {
      for (const ansiQuotes of ansi) {
        for (const noBackslashEscapes of nbe) modes.push({ server: { mariadb, version }, ansiQuotes, noBackslashEscapes });
      }
    }
  }
  return modes;
}

/** One version on each side of every gate, within the servers we consider. */
function candidateVersions(gates: number[], mariadb: boolean): number[] {
  const oldest = mariadb ? OLDEST_MARIADB : OLDEST_MYSQL;
  if (gates.length === 0) return [oldest];
  const out = new Set<number>([oldest, NEWEST]);
  for (const g of gates) {
    for (const v of [g - 1, g]) if (v >= oldest && v <= NEWEST) out.add(v);
  }
  return [...out];
}

function factsOf(statements: LexedStatement[], opts: ReadOptions, depth: number): StatementFacts[] {
  const out: StatementFacts[] = [];
  const multiStatement = statements.length > 1;
  statements.forEach((s, index) => {
    const ctx: Context = { index, multiStatement, opts, depth };
    const facts = analyzeStatement(s.text, ctx, depth > 0, false);
    const top = facts[0];
    if (top) readRoutineBody(top, s.text, facts, ctx);
    if (top && depth === 0) top.text = s.source;
    if (top && depth === 0 && top.kind === 'explain') top.planText = explainPrintsText(s.source) || explainPrintsText(s.text);
    const reading = depth === 0 ? readingChanges(s.text, opts) : undefined;
    if (top && reading) top.reading = reading;
    out.push(...facts);
  });
  if (depth > 0) return out;
  const at = statements.findIndex((s) => readingChanges(s.text, opts) !== undefined);
  if (at < 0 || at === statements.length - 1) return out;
  // a known sql_mode made of modeled flags: the rest of the text is read again, exactly as the server will read it
  const mode = readingChanges(statements[at]!.text, opts)!;
  const sqlMode = mode.length === 1 && mode[0]!.setting === 'sql_mode' && modeledSqlMode(mode[0]!.value) ? String(mode[0]!.value).toUpperCase() : undefined;
  if (sqlMode !== undefined && !/[\u0080-\uffff]/.test(statements.slice(at + 1).map((s) => s.source).join(';'))) {
    const flags = new Set(sqlMode.split(',').map((f) => f.trim()));
    const rest = readAll(statements.slice(at + 1).map((s) => s.source).join(';'), { ...opts, ansiQuotes: flags.has('ANSI_QUOTES'), noBackslashEscapes: flags.has('NO_BACKSLASH_ESCAPES'), relaxedSqlMode: !strictSqlMode(sqlMode) }, 0);
    if (rest.some((f) => f.kind === 'unparsed')) return rest;
    return [...out.filter((f) => f.index <= at), ...rest.map((f) => ({ ...f, index: f.index + at + 1, multiStatement: true }))];
  }
  const barrier = unreadableAfterBarrier(statements, opts);
  return barrier ? [unparsed(barrier, statements.map((s) => s.source).join('; '))] : out;
}

/**
 * The server reads a multi-statement text one statement at a time, each after the previous one ran: statements
 * after a reading barrier must read the same under every reading it can produce (no double quote, backslash,
 * pipe or non-ASCII character, and a sql_mode made only of flags the broker models), or the text is refused.
 */
function unreadableAfterBarrier(statements: LexedStatement[], opts: ReadOptions): string | undefined {
  const at = statements.findIndex((s) => readingChanges(s.text, opts) !== undefined);
  if (at < 0 || at === statements.length - 1) return undefined;
  const changes = readingChanges(statements[at]!.text, opts)!;
  const rest = statements.slice(at + 1).map((s) => s.source).join(';');
  const exotic = changes.some((c) => c.setting === 'sql_mode' && !modeledSqlMode(c.value));
  if (exotic || /["\\|\u0080-\uffff]/.test(rest)) {
    return 'a statement that changes how text is read (SET sql_mode, NAMES, CHARACTER SET, character_set_client) must be sent on its own: the statements after it in the same text could be read differently by the server';
  }
  return undefined;
}

/**
 * The reading changes of a canonical statement, and those of the statement a MariaDB `EXECUTE IMMEDIATE 'literal'`
 * runs: `EXECUTE IMMEDIATE 'SET sql_mode=''ANSI_QUOTES'''` changes the session like the SET sent on its own (it let
 * `DELETE … WHERE v = "v"` delete every row while the broker kept reading '"v"' as a string). A literal that cannot be
 * lexed counts as an unknown sql_mode change (the relay asks the server).
 */
function readingChanges(canonical: string, opts: ReadOptions, depth = 0): ReadingChange[] | undefined {
  const own = mysqlReadingChanges(canonical);
  if (own) return own;
  const tokens = tokenize(canonical);
  if (!(wordsAt(tokens, 0, 'EXECUTE', 'IMMEDIATE') && tokens.length === 3 && tokens[2]!.type === 'string')) return undefined;
  const inner = tokens[2]!.value;
  if (depth >= MAX_DEPTH) return [{ setting: 'sql_mode' }];
  const out: ReadingChange[] = [];
  for (const mode of readingModes(inner, opts)) {
    const r = lexMysql(inner, mode);
    if (!r.ok) return [{ setting: 'sql_mode' }];
    for (const st of r.statements) out.push(...(readingChanges(st.text, opts, depth + 1) ?? []));
  }
  return out.length ? out : undefined;
}

/** One canonical statement → its fact followed by the facts of statements nested in it. */
function analyzeStatement(text: string, ctx: Context, nested: boolean, planOnly: boolean): StatementFacts[] {
  const tokens = tokenize(text);
  let ast: Ast | undefined;
  let error = '';
  let opaqueDivide = false;
  for (const candidate of parserInputs(text, tokens)) {
    try {
      const stmts = parseSqlparser(candidate.text, 'mysql') as Ast[];
      if (stmts.length !== 1) throw new Error(`expected one statement, parser found ${stmts.length}`);
      ast = stmts[0];
      opaqueDivide = candidate.opaqueDivide;
      break;
    } catch (err) {
      error ||= err instanceof Error ? err.message : String(err);
    }
  }
  const b = newBuilder(ctx, planOnly);
  if (opaqueDivide) b.opaqueDivide = true;
  const kill = killFacts(tokens);
  if (kill) {
    // one reading for every KILL, alone or inside a multi-statement text (sqlparser-rs reads only some forms)
    for (const e of kill.effects) addEffect(b, e);
    return [{ ...finish(b, nested), kill: kill.kill }];
  }
  const database = useDatabase(tokens);
  if (database !== null) {
    // one reading for every USE, whichever parser path would read it
    b.kind = 'other';
    addEffect(b, 'session');
    return [{ ...finish(b, nested), database }];
  }
  if (ast !== undefined) {
    const variant = typeof ast === 'string' ? ast : Object.keys(ast)[0]!;
    const cls = classifyVariant(variant);
    if (!cls) return [withNesting(unparsed(`statement type ${variant} is not a MySQL statement we know`), ctx, nested)];
    b.kind = cls.kind;
    if (cls.object !== undefined) b.object = cls.object;
    for (const e of cls.effects) addEffect(b, e);
    if (wordsAt(tokens, 0, 'DO')) b.kind = 'other';
    const problem = describe(variant, typeof ast === 'string' ? {} : ast[variant], b, tokens);
    if (problem) return [withNesting(unparsed(problem), ctx, nested)];
    replaceIsDrop(tokens, b);
    optionEffects(tokens, b);
    for (const t of showSources(tokens)) b.tables.set(`${t.op}:${t.name}`, t);
    return [withDatabases(withDiagnostics(finish(b, nested), tokens), tokens), ...b.nested];
  }
  const fb = fallbackFacts(text, tokens);
  if (!fb) return [withNesting(unparsed(error), ctx, nested)];
  applyFallback(fb, tokens, b);
  replaceIsDrop(tokens, b);
  optionEffects(tokens, b);
  for (const t of showSources(tokens)) b.tables.set(`${t.op}:${t.name}`, t);
  // read without the parser: its query blocks are unknown (fail closed for the row masker)
  b.composite = true;
  // read without the parser: every qualified name in it counts as naming a database
  const top = withDatabases(withDiagnostics(finish(b, nested), tokens), tokens, true);
  if (fb.clientFile) top.clientFile = true;
  return [top, ...b.nested];
}

/**
 * The statement as sqlparser-rs should get it, then forms it reads better. The rewrites swap
 * keyword-only phrases for equivalents the parser knows, so they cannot hide or add code.
 */
/**
 * MariaDB's CREATE OR REPLACE <object> first drops the object that exists (a database with its tables, a sequence
 * with its state, a view, trigger, routine, event, user): rules see that DROP as a nested statement. (TABLE is
 * handled where the table's name is known.) Defends against DROP spelled as CREATE.
 */
/** DEFINER accounts, ALTER IGNORE … ADD UNIQUE, relaxed-mode column changes, system procedures (effect-mysql.ts). */
function optionEffects(tokens: readonly Token[], b: Builder): void {
  const o = mysqlTokenEffects(tokens, b.ctx.opts.relaxedSqlMode === true);
  for (const e of o.effects) addEffect(b, e);
  if (o.drops) b.drops = true;
  // SET STATEMENT … FOR ALTER …: the loss belongs to the ALTER read as the nested statement
  if (o.drops && b.kind === 'set') for (const n of b.nested) if (n.kind === 'alter') n.drops = true;
}

function replaceIsDrop(tokens: readonly Token[], b: Builder): void {
  if (!wordsAt(tokens, 0, 'CREATE', 'OR', 'REPLACE')) return;
  let k = 3;
  while (tokens[k] && !['DATABASE', 'SCHEMA', 'SEQUENCE', 'VIEW', 'TRIGGER', 'PROCEDURE', 'FUNCTION', 'EVENT', 'USER', 'ROLE', 'SERVER', 'INDEX', 'TABLE', 'PACKAGE'].includes(tokens[k]!.value)) k++;
  const obj = tokens[k]?.value;
  if (obj === undefined || obj === 'TABLE') return;
  const object = obj === 'SCHEMA' ? 'database' : obj.toLowerCase();
  b.nested.push({
    kind: 'drop', object, effects: ['ddl'], tables: [], columns: [], functions: [],
    where: null, limit: null, nested: true, multiStatement: b.ctx.multiStatement, index: b.ctx.index,
  });
}

function parserInputs(text: string, tokens: readonly Token[]): Array<{ text: string; opaqueDivide: boolean }> {
  const out = [{ text, opaqueDivide: false }];
  let t = text;
  const replace = (seq: string[], by: string): void => {
    for (let k = 0; k < tokens.length; k++) {
      if (wordsAt(tokens, k, ...seq)) {
        t = t.slice(0, tokens[k]!.start) + by.padEnd(tokens[k + seq.length - 1]!.end - tokens[k]!.start, ' ') + t.slice(tokens[k + seq.length - 1]!.end);
      }
    }
  };
  replace(['LOCK', 'IN', 'SHARE', 'MODE'], 'FOR SHARE');
  replace(['WITH', 'ROLLUP'], '');
  // ZEROFILL (a reserved word, never a bare name) only pads how numbers display; sqlparser-rs does not know it
  replace(['ZEROFILL'], '');
  // DO expr, … evaluates expressions like SELECT without a result
  if (wordsAt(tokens, 0, 'DO')) t = `SELECT${' '.repeat(tokens[0]!.end - tokens[0]!.start - 2)}${t.slice(tokens[0]!.end)}`;
  if (t !== text) out.push({ text: t, opaqueDivide: false });
  // MySQL syntax the parser lacks (MOD, !, SOUNDS LIKE, DIV, ||, multi-table UPDATE, SET NAMES …, …)
  const last = out[out.length - 1]!.text;
  const r = rewriteForParser(last, last === text ? tokens : tokenize(last));
  if (r?.preferred) out.unshift(r);
  else if (r) out.push(r);
  return out;
}

function newBuilder(ctx: Context, planOnly: boolean): Builder {
  return {
    kind: 'other', effects: new Set(), tables: new Map(), aliases: new Map(), cteNames: new Set(), columnRefs: [],
    columns: new Set(), functions: new Set(), databases: new Set(), where: null, limit: null, drops: false, nested: [], planOnly, ctx,
  };
}

/**
 * Facts read from the statement's tokens (strings are one token, so their contents never count): SHOW [COUNT(*)]
 * WARNINGS | ERRORS (StatementFacts.diagnostics) and `:=` (StatementFacts.assignsVariable).
 */
function withDiagnostics(f: StatementFacts, tokens: readonly Token[]): StatementFacts {
  if (tokens.some((t, i) => t.type === 'symbol' && t.value === ':' && tokens[i + 1]?.type === 'symbol' && tokens[i + 1]!.value === '=')) f.assignsVariable = true;
  if (!wordsAt(tokens, 0, 'SHOW')) return f;
  const k = wordsAt(tokens, 1, 'COUNT') && ['(', '*', ')'].every((v, i) => tokens[2 + i]?.type === 'symbol' && tokens[2 + i]!.value === v) ? 5 : 1;
  if (wordsAt(tokens, k, 'WARNINGS') || wordsAt(tokens, k, 'ERRORS')) f.diagnostics = true;
  return f;
}

/** Adds the databases the tokens name (mysql-databases.ts) to those the parser's names gave. */
function withDatabases(f: StatementFacts, tokens: readonly Token[], tokenRead = false): StatementFacts {
  const named = tokenDatabases(tokens, tokenRead ? 'other' : f.kind);
  if (named.length) f.databases = [...new Set([...(f.databases ?? []), ...named])];
  return f;
}

function withNesting(f: StatementFacts, ctx: Context, nested: boolean): StatementFacts {
  f.nested = nested;
  f.index = ctx.index;
  f.multiStatement = ctx.multiStatement;
  return f;
}

/** Fills the builder from the statement body; returns a reason to refuse the statement, if any. */
function describe(variant: string, s: Ast, b: Builder, tokens: readonly Token[]): string | undefined {
  switch (variant) {
    case 'Query':
      // `WITH x AS (…) DELETE FROM t` / `WITH … UPDATE …`: the parser hangs the write under a Query, which would be
      // read as a SELECT — a read grant could then delete every row on MySQL 8 (MariaDB 10.11 rejects the syntax).
      // Only query bodies that read are described here; a write body is refused as unparsed (fail closed).
      if (s.body && !s.body.Select && !s.body.Query && !s.body.SetOperation && !s.body.Values && !s.body.Table) {
        return `a WITH clause before ${Object.keys(s.body)[0]?.toUpperCase() ?? 'this statement'} is not read`;
      }
      query(s, b, true, tokens);
      return undefined;
    case 'Insert':
      addObjectName(s.table?.TableName ?? s.table_name ?? s.table, b, 'write');
      walk(s, b, 'read', ['table', 'table_name', 'columns']);
      // an upsert or REPLACE fed from its own table is an UPDATE of that table (effect-mysql.ts)
      if (!b.planOnly) {
        const up = mysqlUpsertUpdate(s, b.ctx);
        // whether it is scoped was decided by folding its SELECT's WHERE: literal-dependent facts
        if (up) b.literalDependent = true;
        if (up?.update) b.nested.push(up.update);
      }
      return undefined;
    case 'Update':
      return update(s, b);
    case 'Delete':
      return del(s, b);
    case 'CreateTable':
      addObjectName(s.name, b, 'ddl');
      if (s.or_replace) {
        // CREATE OR REPLACE TABLE first drops the table that exists, rows and all: rules see that DROP
        const created = [...b.tables.values()].find((t) => t.op === 'ddl');
        b.nested.push({
          kind: 'drop', object: 'table', effects: ['ddl'], tables: created ? [created] : [], columns: [], functions: [],
          where: null, limit: null, nested: true, multiStatement: b.ctx.multiStatement, index: b.ctx.index,
        });
      }
      if (s.query) addEffect(b, 'write');
      if (s.like) walk(s.like, b, 'read');
      walk(s, b, 'read', ['name', 'like']);
      return undefined;
    case 'CreateView':
      addObjectName(s.name, b, 'ddl');
      walk(s, b, 'read', ['name']);
      return undefined;
    case 'CreateIndex':
      addObjectName(s.table_name, b, 'ddl');
      walk(s, b, 'read', ['table_name', 'name']);
      return undefined;
    case 'AlterTable':
      addObjectName(s.name, b, 'ddl');
      for (const op of s.operations ?? []) {
        const key = typeof op === 'string' ? op : Object.keys(op ?? {})[0] ?? '';
        // DROP COLUMN/INDEX/KEY/FOREIGN KEY/PRIMARY KEY/PARTITION, TRUNCATE PARTITION, DISCARD TABLESPACE
        if (/^Drop|Truncate|Discard/.test(key)) b.drops = true;
        // ALTER COLUMN … DROP DEFAULT / DROP NOT NULL drop a constraint in disguise
        if (key === 'AlterColumn' && /"Drop(Default|NotNull)"/.test(JSON.stringify(op))) b.drops = true;
        // RENAME [TO|AS] db.t names a table (which the database scope checks), not columns: `ALTER TABLE t RENAME
        // TO other_db.t` moves the table out of the grant's databases
        if (key === 'RenameTable') {
          const to = op.RenameTable?.table_name;
          addObjectName(to?.To ?? to?.As ?? to, b, 'ddl');
        }
      }
      walk({ ...s, operations: (s.operations ?? []).filter((op: Ast) => typeof op === 'string' || !op?.RenameTable) }, b, 'read', ['name']);
      return undefined;
    case 'RenameTable':
      for (const r of Array.isArray(s) ? s : []) {
        addObjectName(r.old_name, b, 'ddl');
        addObjectName(r.new_name, b, 'ddl');
      }
      return undefined;
    case 'Drop': {
      const object = objectName(s.object_type);
      if (object !== undefined) b.object = object;
      if (object !== undefined && RELATION_OBJECTS.has(object) && object !== 'index') {
        for (const n of s.names ?? []) addObjectName(n, b, 'ddl');
      }
      if (object === 'index' && s.table) addObjectName(s.table, b, 'ddl');
      return undefined;
    }
    case 'Truncate':
      for (const t of s.table_names ?? []) addObjectName(t.name, b, 'write');
      return undefined;
    case 'Grant':
    case 'Revoke':
      if (s.objects?.Tables) b.object = 'table';
      else if (s.objects === undefined || s.objects === null) b.object = 'role';
      return undefined;
    case 'Set':
      return setStatement(s, b, tokens);
    case 'Explain':
      // EXPLAIN ANALYZE runs its statement; plain EXPLAIN only plans it
      if (s.analyze && !b.planOnly) nestAst(s.statement, b);
      // MariaDB evaluates uncorrelated subqueries while optimising, so a plain EXPLAIN runs their functions and
      // locks: the statement's expressions are decided as executed (its own DML kind is not)
      else if (b.ctx.opts.mariadb !== false && !b.planOnly) walkStatementExpressions(s.statement, b);
      else walkPlanOnly(s.statement, b);
      return undefined;
    case 'ExplainTable':
      addObjectName(s.table_name, b, 'read');
      return undefined;
    case 'Execute':
      return execute(s, b, tokens);
    case 'LockTables': {
      let writes = false;
      for (const t of s.tables ?? []) {
        const write = t.lock_type && Object.keys(t.lock_type)[0] === 'Write';
        writes ||= Boolean(write);
        if (typeof t.table?.value === 'string') addTableName(t.table.value, b, write ? 'write' : 'read');
      }
      // LOCK TABLES … READ only reads (mysqldump uses it); WRITE blocks everyone else
      if (!writes) b.effects.delete('write');
      return undefined;
    }
    case 'Analyze':
    case 'OptimizeTable':
      walk(s, b, 'write');
      return undefined;
    case 'Deallocate':
      if (typeof s.name?.value === 'string') b.prepared = { op: 'deallocate', name: s.name.value.toLowerCase() };
      return undefined;
    case 'Call':
      addFunction(s, b);
      walk(s.args, b, 'read');
      return undefined;
    default:
      walk(s, b, b.kind === 'show' || b.kind === 'other' ? 'read' : 'ddl');
      return undefined;
  }
}

function query(q: Ast, b: Builder, top: boolean, tokens?: readonly Token[]): void {
  // a second query block (nested, set operation, CTE, VALUES): see StatementFacts.composite
  if (!top || (q.with?.cte_tables ?? []).length > 0 || !q.body?.Select) b.composite = true;
  for (const cte of q.with?.cte_tables ?? []) {
    const name = cte?.alias?.name?.value;
    if (typeof name === 'string') b.cteNames.add(name.toLowerCase());
  }
  // SELECT … FOR UPDATE / FOR SHARE / LOCK IN SHARE MODE takes row locks: a write to a read-only grant
  if ((q.locks ?? []).length > 0) addEffect(b, 'write');
  const sel = q.body?.Select;
  if (sel?.into) {
    const names: Ast[] = sel.into.name ?? [];
    const first = String(names[0]?.Identifier?.value ?? '');
    // INTO @var only sets session variables; anything else would create or fill a table
    if (first.startsWith('@')) addEffect(b, 'session');
    else { addEffect(b, 'write'); addEffect(b, 'ddl'); }
  }
  if (top) {
    b.limit = q.limit_clause || q.fetch ? 'present' : 'absent';
    // SELECT … INTO @v at the end (blanked for the parser by mysql-rewrites.ts) sets user variables
    const into = tokens ? findTopLevelWord(tokens, 'INTO') : -1;
    if (into >= 0 && tokens![into + 1]?.value.startsWith('@')) addEffect(b, 'session');
    if (tokens && findTopLevelWord(tokens, 'INTO') >= 0 && tokens.some((t) => t.type === 'word' && (t.value === 'OUTFILE' || t.value === 'DUMPFILE'))) {
      addEffect(b, 'file');
    }
  }
  walk(q, b, 'read');
}

function update(s: Ast, b: Builder): string | undefined {
  // SET x = <expr>: the columns <expr> reads end up stored in x (masking must not let them move)
  const before = b.columnRefs.length;
  walk((s.assignments ?? []).map((a: Ast) => a.value), b, 'read');
  b.copyRefs = b.columnRefs.slice(before);
  const targets = new Set<string>();
  for (const a of s.assignments ?? []) {
    const parts: Ast[] = a.target?.ColumnName ?? [];
    if (parts.length >= 2) targets.add(identValue(parts[parts.length - 2]).toLowerCase());
  }
  const relations: Ast[] = [s.table?.relation, ...(s.table?.joins ?? []).map((j: Ast) => j.relation)];
  const joinOps: Ast[] = [undefined, ...(s.table?.joins ?? []).map((j: Ast) => j.join_operator)];
  const writtenNames = new Set<string>();
  const joined: JoinedRelation[] = [];
  relations.forEach((r, i) => {
    const t = r?.Table;
    // a derived table in the join list (`JOIN (SELECT …) b`): its query is read like any subquery, so the
    // functions, tables and columns inside it are seen by every rule (they used to be skipped)
    if (!t) { joined.push({ names: new Set(), written: false }); walk(r, b, 'read'); return; }
    const alias = String(t.alias?.name?.value ?? '').toLowerCase();
    const name = objectNameText(t.name);
    // multi-table UPDATE writes the tables its SET names; the first table when SET is unqualified
    const written = targets.size === 0 ? i === 0 : targets.has(alias) || targets.has(name.toLowerCase()) || targets.has(name.split('.').pop()!.toLowerCase());
    if (written) addWrittenNames(writtenNames, alias, name);
    joined.push({ names: addWrittenNames(new Set(), alias, name), written, join: joinOps[i] });
    addTableNode(t, b, written ? 'write' : 'read');
  });
  b.limit = s.limit ? 'present' : 'absent';
  if (s.selection && hasMisreadOperator(s.selection)) return 'WHERE uses an operator (DIV, ^, ||, XOR, LIKE … =) the parser groups differently from MySQL';
  b.where = scopedWhere(s.selection, writtenNames, b, joined);
  walk(s, b, 'read', ['table']);
  for (const j of s.table?.joins ?? []) walk(j.join_operator, b, 'read');
  return undefined;
}

function del(s: Ast, b: Builder): string | undefined {
  const fromList: Ast[] = s.from?.WithFromKeyword ?? s.from?.WithoutKeyword ?? [];
  const using: Ast[] = s.using ?? [];
  // DELETE FROM a, b USING t a JOIN u b …: FROM names the targets (often aliases), USING holds the tables and joins,
  // exactly like DELETE a, b FROM t a JOIN u b …. Reading FROM's names as tables would take an alias for a table of
  // its own and the join link `a.id = b.id` for a condition on it.
  const from: Ast[] = using.length > 0 ? using : fromList;
  const targets: string[] = using.length > 0
    ? fromList.map((twj: Ast) => objectNameText(twj.relation?.Table?.name))
    : (s.tables ?? []).map((n: Ast) => objectNameText(n));
  const relations: Ast[] = from.flatMap((twj: Ast) => [twj.relation, ...(twj.joins ?? []).map((j: Ast) => j.relation)]);
  const joinOps: Ast[] = from.flatMap((twj: Ast) => [undefined, ...(twj.joins ?? []).map((j: Ast) => j.join_operator)]);
  const writtenNames = new Set<string>();
  const joined: JoinedRelation[] = [];
  relations.forEach((r, i) => {
    const t = r?.Table;
    // derived tables in the join list are read like any subquery (see update())
    if (!t) { joined.push({ names: new Set(), written: false }); walk(r, b, 'read'); return; }
    const alias = String(t.alias?.name?.value ?? '');
    const name = objectNameText(t.name);
    const written = targets.length === 0 ? i === 0 : targets.some((x) => sameName(x, alias) || sameName(x, name));
    if (written) addWrittenNames(writtenNames, alias, name);
    joined.push({ names: addWrittenNames(new Set(), alias, name), written, join: joinOps[i] });
    addTableNode(t, b, written ? 'write' : 'read');
  });
  b.limit = s.limit ? 'present' : 'absent';
  if (s.selection && hasMisreadOperator(s.selection)) return 'WHERE uses an operator (DIV, ^, ||, XOR, LIKE … =) the parser groups differently from MySQL';
  b.where = scopedWhere(s.selection, writtenNames, b, joined);
  walk(s, b, 'read', ['from', 'tables', 'using']);
  for (const twj of from) for (const j of twj.joins ?? []) walk(j.join_operator, b, 'read');
  return undefined;
}

function addWrittenNames(set: Set<string>, alias: string, name: string): Set<string> {
  if (alias !== '') set.add(alias.toLowerCase());
  set.add(name.toLowerCase());
  set.add(name.split('.').pop()!.toLowerCase());
  return set;
}

/**
 * The WHERE status of an UPDATE/DELETE: folded to a constant where possible (mysql-where.ts), and "not proven
 * scoped" (reported as always-true) when it mentions no column of a written table (mysql-where-scope.ts).
 */
function scopedWhere(selection: Ast, written: ReadonlySet<string>, b: Builder, joined?: JoinedRelation[]): WhereStatus {
  const status = mysqlWhereStatus(selection, { opaqueDivide: b.opaqueDivide === true });
  if (status === 'present' && written.size > 0) {
    const o = { opaqueDivide: b.opaqueDivide === true };
    const scope = joined && joined.length > 1 ? { why: joinUnscopedReason(selection, joined, o) } : mysqlWhereScope(selection, written, o);
    if (scope.why !== undefined) {
      b.whereReason = scope.why;
      // scoped after all if the catalog shows these columns nullable (session.ts, family c of issue 12)
      if ('ifNullable' in scope && scope.ifNullable) b.scopeIfNullable = scope.ifNullable;
      return 'always-true';
    }
  }
  return status;
}

function sameName(target: string, name: string): boolean {
  if (name === '') return false;
  const a = target.toLowerCase();
  const n = name.toLowerCase();
  return a === n || a === n.split('.').pop() || a.split('.').pop() === n;
}

function setStatement(s: Ast, b: Builder, tokens: readonly Token[]): string | undefined {
  if (s.SetRole) {
    b.effects.add('dcl');
    b.object = 'role';
    return undefined;
  }
  if (s.SetTransaction || s.SetNames || s.SetNamesDefault || s.SetTimeZone) {
    if (hasScopeWord(tokens)) addEffect(b, 'admin');
    walk(s, b, 'read');
    return undefined;
  }
  const assignments: Ast[] = s.MultipleAssignments?.assignments
    ?? (s.SingleAssignment ? [{ name: s.SingleAssignment.variable, value: s.SingleAssignment.values, scope: s.SingleAssignment.scope }] : []);
  if (assignments.length === 0) return `SET form ${Object.keys(s)[0]} is not one we know`;
  // MySQL applies a scope word to every later assignment (`SET GLOBAL a = 1, b = 2` sets both), which
  // sqlparser-rs does not record, so any scope word makes the whole SET server-wide
  if (hasScopeWord(tokens)) addEffect(b, 'admin');
  for (const a of assignments) {
    const parts: string[] = (a.name ?? []).map(identValue);
    const variable = parts[parts.length - 1]!.replace(/^@@/, '').toLowerCase();
    if (parts.length === 1 && parts[0]!.startsWith('@') && !parts[0]!.startsWith('@@')) continue; // user variable
    const prefix = parts.length > 1 ? parts[0]!.toUpperCase() : '';
    if (GLOBAL_PREFIXES.some((p) => p === `${prefix}.`)) addEffect(b, 'admin');
    if (a.scope && a.scope !== 'Session' && a.scope !== 'Local') addEffect(b, 'admin');
    if (ADMIN_VARIABLES.has(variable)) addEffect(b, 'admin');
    if (PRIVILEGE_VARIABLES.has(variable)) {
      b.effects.add('dcl');
      b.object = variable === 'password' ? 'user' : 'role';
    }
  }
  walk(assignments.map((a) => a.value), b, 'read');
  return undefined;
}

function execute(s: Ast, b: Builder, tokens: readonly Token[]): string | undefined {
  // MariaDB's EXECUTE IMMEDIATE 'literal' is a statement we can read; from a variable it is not
  // (sqlparser-rs reads IMMEDIATE as the statement's name, so the tokens decide)
  if (wordsAt(tokens, 0, 'EXECUTE', 'IMMEDIATE') && tokens.length === 3 && tokens[2]!.type === 'string') {
    b.kind = 'execute';
    b.effects.delete('dynamic');
    nestRaw(tokens[2]!.value, b);
    return undefined;
  }
  // EXECUTE name [USING @a, …]: the relay substitutes the statement the session prepared under that name
  const name: Ast[] = Array.isArray(s.name) ? s.name : [];
  const onlyVariables = (s.using ?? []).every((u: Ast) => String(u?.expr?.Identifier?.value ?? '').startsWith('@'));
  if (name.length === 1 && !s.immediate && onlyVariables && (s.parameters ?? []).length === 0) {
    b.prepared = { op: 'execute', name: identValue(name[0]).toLowerCase() };
  }
  walk(s, b, 'read', ['name']);
  return undefined;
}

function applyFallback(fb: FallbackFacts, tokens: readonly Token[], b: Builder): void {
  b.kind = fb.kind;
  if (fb.object !== undefined) b.object = fb.object;
  for (const e of fb.effects) addEffect(b, e);
  for (const t of fb.tables) addTableName(t.name, b, t.op);
  // every name in the text may be a column the statement reads (a generated column's or a DEFAULT's expression):
  // the fallback cannot tell, so it counts them all, and masked columns named anywhere in it are seen
  if (fb.namesAreColumnsOf !== undefined) {
    const table = fb.namesAreColumnsOf.replace(/`/g, '').split('.');
    for (const t of tokens) {
      if (t.type === 'quoted') b.columnRefs.push([...table, t.value]);
      else if (t.type === 'word' && !t.value.startsWith('@')) for (const part of t.raw.split('.')) b.columnRefs.push([...table, part]);
    }
  }
  if (fb.drops) b.drops = true;
  if (fb.prepared) b.prepared = fb.prepared;
  if (fb.scanCalls) {
    for (const name of calledNames(tokens)) {
      const effect = mysqlFunctionEffect(name);
      if (effect) {
        b.functions.add(name);
        addEffect(b, effect);
      }
    }
  }
  if (fb.nestedCanonical !== undefined) nestCanonical(fb.nestedCanonical, b);
  if (fb.nestedRaw !== undefined) nestRaw(fb.nestedRaw, b);
}

/** Generic AST walk: tables, columns, functions; subqueries belong to the statement they are in. */
const NO_SKIP: readonly string[] = [];
/** Keys holding names that are written or looked up, not columns read. */
const NOT_COLUMNS = new Set(['target', 'obj_name', 'db_name', 'Object', 'alias', 'charset_name', 'collation_name']);

function walk(node: Ast, b: Builder, op: TableOp, skip: readonly string[] = NO_SKIP): void {
  if (Array.isArray(node)) {
    for (const n of node) walk(n, b, op);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  for (const key in node) {
    if (skip.includes(key) || NOT_COLUMNS.has(key)) continue;
    const v = node[key];
    if (v === null || typeof v !== 'object') continue;
    switch (key) {
      case 'Table':
        if (Array.isArray(v.name)) { addTableNode(v, b, op); walk(v, b, 'read', ['name', 'alias']); }
        else walk(v, b, op);
        break;
      case 'Function':
        addFunction(v, b);
        walk(v, b, 'read', ['name']);
        break;
      case 'Identifier':
        if (typeof v.value === 'string' && !v.value.startsWith('@')) b.columnRefs.push([v.value]);
        break;
      case 'selection':
      case 'having':
      case 'On': {
        // conditions: their column references are also `predicates`
        const before = b.columnRefs.length;
        walk(v, b, op);
        (b.predicateRefs ??= []).push(...b.columnRefs.slice(before));
        break;
      }
      case 'CompoundIdentifier':
        if (Array.isArray(v) && !String(v[0]?.value ?? '').startsWith('@')) b.columnRefs.push(v.map((p: Ast) => String(p?.value ?? '')));
        break;
      case 'Wildcard':
        b.columnRefs.push(['*']);
        break;
      case 'QualifiedWildcard': {
        const parts: Ast[] = Array.isArray(v) ? v[0] ?? [] : v?.[0] ?? [];
        const names = (Array.isArray(parts) ? parts : []).map(identValue).filter((x: string) => x !== '');
        b.columnRefs.push([...names, '*']);
        break;
      }
      case 'Query':
      case 'subquery':
      case 'Subquery':
      case 'query':
      case 'source':
        if (v.body !== undefined) query(v, b, false);
        else walk(v, b, op);
        break;
      default:
        walk(v, b, op);
    }
  }
}

function walkStatementExpressions(node: Ast, b: Builder): void {
  walkPlanOnly(node, b);
  const executed: Ast[] = [];
  const find = (n: Ast): void => {
    if (Array.isArray(n)) return n.forEach(find);
    if (n === null || typeof n !== 'object') return;
    for (const key in n) {
      // scalar subqueries, EXISTS / IN (subquery) and derived tables: the optimiser may run them
      if ((key === 'Subquery' || key === 'subquery') && n[key] !== null && typeof n[key] === 'object') executed.push(n[key]);
      else find(n[key]);
    }
  };
  find(node);
  for (const q of executed) walk(q, b, 'read');
}

function walkPlanOnly(node: Ast, b: Builder): void {
  const saved = b.planOnly;
  b.planOnly = true;
  const variant = typeof node === 'string' ? node : Object.keys(node ?? {})[0];
  walk(variant ? node[variant] : node, b, 'read');
  b.planOnly = saved;
}

function nestAst(node: Ast, b: Builder): void {
  if (node === undefined || node === null) return;
  const variant = typeof node === 'string' ? node : Object.keys(node)[0]!;
  const cls = classifyVariant(variant);
  const inner = newBuilder(b.ctx, b.planOnly);
  let facts: StatementFacts[];
  if (!cls) {
    facts = [withNesting(unparsed(`statement type ${variant} is not a MySQL statement we know`), b.ctx, true)];
  } else {
    inner.kind = cls.kind;
    if (cls.object !== undefined) inner.object = cls.object;
    for (const e of cls.effects) addEffect(inner, e);
    const problem = describe(variant, typeof node === 'string' ? {} : node[variant], inner, []);
    facts = problem ? [withNesting(unparsed(problem), b.ctx, true)] : [finish(inner, true), ...inner.nested];
  }
  absorb(facts, b);
}

function nestCanonical(text: string, b: Builder): void {
  if (b.ctx.depth >= MAX_DEPTH) { absorb([withNesting(unparsed('statements nested too deep'), b.ctx, true)], b); return; }
  absorb(analyzeStatement(text, { ...b.ctx, depth: b.ctx.depth + 1 }, true, b.planOnly), b);
}

/** SQL text in a string (PREPARE … FROM '…'): the server lexes it afresh, so we do too. */
function nestRaw(text: string, b: Builder): void {
  if (b.ctx.depth >= MAX_DEPTH) { absorb([withNesting(unparsed('statements nested too deep'), b.ctx, true)], b); return; }
  const facts = readAll(text, b.ctx.opts, b.ctx.depth + 1).map((f) => {
    const g: StatementFacts = { ...f, nested: true, index: b.ctx.index, multiStatement: b.ctx.multiStatement };
    delete g.text;
    return g;
  });
  absorb(facts, b);
}

/**
 * A stored routine whose body is one plain statement (mysql-routine-body.ts): the body is decided as if it were
 * sent (nested facts), instead of refusing every CREATE PROCEDURE/FUNCTION as dynamic. Dynamic SQL in it
 * (PREPARE/EXECUTE) is dynamic in its own facts; a body the broker cannot read keeps the routine dynamic.
 */
function readRoutineBody(top: StatementFacts, text: string, facts: StatementFacts[], ctx: Context): void {
  if (top.kind !== 'create' || (top.object !== 'procedure' && top.object !== 'function') || !top.effects.includes('dynamic')) return;
  if (ctx.depth >= MAX_DEPTH) return;
  const compound = routineCompoundBody(text);
  if (compound !== 'plain') {
    if (compound !== null) readCompoundBody(top, compound, facts, ctx);
    return;
  }
  const body = routineSingleBody(text);
  if (body === null) return;
  const inner = readAll(body, ctx.opts, ctx.depth + 1);
  if (!inner.length || inner.some((f) => f.kind === 'unparsed') || new Set(inner.map((f) => f.index)).size !== 1) return;
  carryBody(top, [inner[0]!], inner, facts, ctx);
}

/**
 * The routine `top` carries what its body's statements (`tops`) touch — effects, tables, columns, functions — and
 * every fact of the body (`inner`) is added after it as nested facts.
 */
function carryBody(top: StatementFacts, tops: readonly StatementFacts[], inner: readonly StatementFacts[], facts: StatementFacts[], ctx: Context): void {
  top.effects = top.effects.filter((e) => e !== 'dynamic');
  for (const first of tops) {
    for (const e of first.effects) if (!top.effects.includes(e)) top.effects.push(e);
    for (const t of first.tables) if (!top.tables.some((x) => x.name === t.name && x.op === t.op)) top.tables.push(t);
    for (const c of first.columns) if (!top.columns.includes(c)) top.columns.push(c);
    for (const f of first.functions) if (!top.functions.includes(f)) top.functions.push(f);
  }
  for (const f of inner) {
    const g: StatementFacts = { ...f, nested: true, index: ctx.index, multiStatement: ctx.multiStatement };
    delete g.text;
    facts.push(g);
  }
}

/**
 * A compound routine body (mysql-routine-body.ts, mysql-compound.ts): every statement and expression it runs is
 * decided as if it were sent (nested facts), and the routine carries their effects, tables and columns (so masks
 * and read-only rules see what it would touch). The routine stays `dynamic` (refused) when any of them cannot be
 * read, changes how the session reads text (SET sql_mode/NAMES…), or writes inside a loop or condition handler: a
 * write repeated by a loop touches as many rows as the loop runs, each run looking scoped (as for PL/pgSQL).
 */
function readCompoundBody(top: StatementFacts, body: CompoundBodyStatement[], facts: StatementFacts[], ctx: Context): void {
  const inner: StatementFacts[] = [];
  const tops: StatementFacts[] = [];
  for (const st of body) {
    if (mysqlReadingChanges(st.text) !== undefined) return;
    const f = analyzeStatement(st.text, { ...ctx, depth: ctx.depth + 1 }, true, false);
    if (!f.length || f.some((x) => x.kind === 'unparsed')) return;
    if (st.repeated && f.some((x) => x.effects.includes('write'))) return;
    tops.push(f[0]!);
    inner.push(...f);
  }
  carryBody(top, tops, inner, facts, ctx);
}

function absorb(facts: StatementFacts[], b: Builder): void {
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

function identValue(p: Ast): string {
  if (typeof p?.Identifier?.value === 'string') return p.Identifier.value;
  if (typeof p?.value === 'string') return p.value;
  return '';
}

function objectNameText(name: Ast): string {
  if (!Array.isArray(name)) return '';
  return name.map(identValue).filter((x) => x !== '').join('.');
}

function addObjectName(name: Ast, b: Builder, op: TableOp): void {
  const text = objectNameText(name);
  if (text !== '') addTableName(text, b, op);
  addQualifier(name, b);
}

/** The database of a qualified name (`db.t`, `db.f`), for the grant's database scope. */
function addQualifier(name: Ast, b: Builder): void {
  if (!Array.isArray(name) || name.length < 2) return;
  const db = identValue(name[0]);
  // a name the parser split oddly counts as naming a database nobody granted: fail closed
  b.databases.add(db === '' ? '?' : db);
}

function addTableNode(t: Ast, b: Builder, op: TableOp): void {
  const name = objectNameText(t.name);
  if (name === '') return;
  if (op === 'read' && !name.includes('.') && b.cteNames.has(name.toLowerCase())) return;
  addTableName(name, b, op);
  addQualifier(t.name, b);
  const alias = t.alias?.name?.value;
  if (typeof alias === 'string') b.aliases.set(alias.toLowerCase(), name);
  b.aliases.set(name.split('.').pop()!.toLowerCase(), name);
}

function addTableName(name: string, b: Builder, op: TableOp): void {
  b.tables.set(`${op}:${name}`, { name, op });
}

function addFunction(fn: Ast, b: Builder): void {
  const name = objectNameText(fn.name).toLowerCase();
  if (name === '') return;
  b.functions.add(name);
  addQualifier(fn.name, b);
  const effect = mysqlFunctionEffect(name);
  if (effect) addEffect(b, effect);
}

function finish(b: Builder, nested: boolean): StatementFacts {
  const tables = [...b.tables.values()];
  if (tables.some((t) => t.op === 'read') && !b.planOnly) b.effects.add('read');
  const tableNames = [...new Set(tables.map((t) => t.name))];
  const columns = new Set(b.columns);
  for (const ref of b.columnRefs) {
    const col = resolveColumn(ref, b, tableNames);
    if (col !== undefined) columns.add(col);
  }
  const facts: StatementFacts = {
    kind: b.kind,
    effects: [...b.effects],
    tables,
    columns: [...columns],
    functions: [...b.functions],
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
  if (b.prepared !== undefined) facts.prepared = b.prepared;
  if (b.composite) facts.composite = true;
  if (b.databases.size) facts.databases = [...b.databases];
  const predicates = (b.predicateRefs ?? []).map((ref) => resolveColumn(ref, b, tableNames)).filter((c): c is string => c !== undefined);
  if (predicates.length) facts.predicates = [...new Set(predicates)];
  const copies = (b.copyRefs ?? []).map((ref) => resolveColumn(ref, b, tableNames)).filter((c): c is string => c !== undefined);
  if (copies.length) facts.copies = [...new Set(copies)];
  return facts;
}

/** Best effort: `alias.col` → table.col; a bare column is qualified only when one table is in play. */
function resolveColumn(ref: string[], b: Builder, tableNames: string[]): string | undefined {
  const col = ref[ref.length - 1]!;
  if (col === '') return undefined;
  if (ref.length === 1) return tableNames.length === 1 ? `${tableNames[0]}.${col}` : col;
  if (ref.length === 2) {
    const table = b.aliases.get(ref[0]!.toLowerCase());
    return table !== undefined ? `${table}.${col}` : ref.join('.');
  }
  return ref.slice(-3).join('.');
}
