// MySQL statements the parser does not know, read from their leading keywords (closed syntax only).
import type { Effect, StatementKind, TableRef } from './facts.js';
import { ADMIN_VARIABLES, GLOBAL_PREFIXES, GLOBAL_SCOPES, PRIVILEGE_VARIABLES } from './mysql-functions.js';
import { findTopLevelWord, wordsAt, type Token } from './mysql-tokens.js';

// sqlparser-rs does not read every MySQL statement (CREATE USER, LOAD DATA, PREPARE … FROM, HANDLER,
// SHUTDOWN, INSTALL PLUGIN, …). Those have a fixed shape that starts with their keywords, so their
// kind and effect follow from the first words. Anything else stays unparsed (blocked). A head that
// would be allowed (HANDLER, CHECK TABLE, XA, …) is refused when it holds a subquery or call we
// cannot see into; heads that are blocked anyway keep their precise effect for the message.

export interface FallbackFacts {
  kind: StatementKind;
  effects: Effect[];
  object?: string;
  tables: TableRef[];
  drops?: boolean;
  /** canonical statement text to analyze as a nested statement (ANALYZE DELETE …, SET STATEMENT … FOR …) */
  nestedCanonical?: string;
  /** raw SQL text handed over in a string literal (PREPARE s FROM '…'), read like client text */
  nestedRaw?: string;
  /** the statement may be allowed, so every call in it must be checked (the caller scans for functions) */
  scanCalls: boolean;
  prepared?: { op: 'prepare' | 'execute' | 'deallocate'; name: string; text?: string };
  /** LOAD … LOCAL: the file is on the client's host */
  clientFile?: boolean;
  /** every name in the text counts as a column of this table that the statement reads (it may hold expressions we cannot read) */
  namesAreColumnsOf?: string;
}

/** A prepared statement's name (case-insensitive on the server), or undefined when token k is not one. */
function statementName(t: Token | undefined): string | undefined {
  return t && (t.type === 'word' || t.type === 'quoted') ? t.value.toLowerCase() : undefined;
}

const NESTABLE = new Set(['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'REPLACE', 'WITH', 'TABLE', 'VALUES']);
/** the only words START TRANSACTION may be followed by (its characteristics) */
const TXN_WORDS = new Set(['WITH', 'CONSISTENT', 'SNAPSHOT', 'READ', 'ONLY', 'WRITE']);
const ADMIN_HEADS = new Set(['SHUTDOWN', 'RESTART', 'PURGE', 'RESET', 'BINLOG', 'CLONE', 'BACKUP', 'KILL', 'FLUSH', 'CACHE']);
const ROUTINES = new Set(['PROCEDURE', 'FUNCTION', 'TRIGGER', 'EVENT']);

/** Facts from the leading keywords of `tokens`, or null when the statement is not one we can read. */
export function fallbackFacts(text: string, tokens: readonly Token[]): FallbackFacts | null {
  const w = (k: number): string => (tokens[k]?.type === 'word' ? tokens[k]!.value : '');
  const head = w(0);
  const rest = (k: number): string => (tokens[k] ? text.slice(tokens[k]!.start) : '');
  const f = (kind: StatementKind, effects: Effect[], extra: Partial<FallbackFacts> = {}): FallbackFacts =>
    ({ kind, effects, tables: [], scanCalls: true, ...extra });
  const hasSubquery = (): boolean => tokens.some((t, k) => k > 0 && t.type === 'word' && t.value !== 'TABLE' && NESTABLE.has(t.value));

  switch (head) {
    case 'SET': return setStatement(text, tokens, f);
    case 'DO':
      // DO evaluates expressions and discards them: the caller re-parses it as SELECT
      return null;
    case 'PREPARE': {
      // PREPARE name FROM 'text' | @var | expression
      if (w(2) !== 'FROM') return null;
      const name = statementName(tokens[1]);
      if (name === undefined) return null;
      const src = tokens.slice(3);
      if (src.length === 1 && src[0]!.type === 'string') {
        return f('prepare', [], { nestedRaw: src[0]!.value, scanCalls: false, prepared: { op: 'prepare', name, text: src[0]!.value } });
      }
      // text built at run time (a user variable, CONCAT(…)) is SQL the broker never sees
      return f('prepare', ['dynamic'], { prepared: { op: 'prepare', name } });
    }
    case 'EXECUTE': {
      // EXECUTE name [USING @a, …]: dynamic unless the session knows what `name` holds (the relay expands it)
      const name = statementName(tokens[1]);
      const using = w(2) === 'USING' && tokens.slice(3).every((t, i) => (i % 2 === 0 ? t.type === 'word' && t.value.startsWith('@') : t.value === ','));
      if (name === undefined || !(tokens.length === 2 || using)) return f('execute', ['dynamic']);
      return f('execute', ['dynamic'], { prepared: { op: 'execute', name } });
    }
    case 'SELECT':
    case 'WITH':
      // SELECT … INTO OUTFILE / DUMPFILE writes a server file; the export options are not parsed
      if (tokens.some((t) => t.type === 'word' && (t.value === 'OUTFILE' || t.value === 'DUMPFILE'))) return f('select', ['read', 'file']);
      return null;
    case 'DEALLOCATE': {
      const name = statementName(tokens[2]);
      return f('other', ['session'], name !== undefined && w(1) === 'PREPARE' ? { prepared: { op: 'deallocate', name } } : {});
    }
    case 'ANALYZE':
      // MariaDB's ANALYZE <statement> runs the statement and reports how it went
      if (NESTABLE.has(w(1))) return f('explain', ['read'], { nestedCanonical: rest(1), scanCalls: false });
      if (w(1) === 'FORMAT' && tokens[2]?.value === '=' && NESTABLE.has(w(4))) {
        return f('explain', ['read'], { nestedCanonical: rest(4), scanCalls: false });
      }
      if (wordsAt(tokens, 1, 'TABLE') || wordsAt(tokens, 2, 'TABLE')) return f('other', ['write'], { tables: tablesAfter(tokens, 'TABLE', 'read') });
      return null;
    case 'EXPLAIN':
    case 'DESCRIBE':
    case 'DESC': {
      if (w(1) === 'ANALYZE' && NESTABLE.has(w(2))) return f('explain', ['read'], { nestedCanonical: rest(2), scanCalls: false });
      if (tokens.some((t) => t.type === 'word' && t.value === 'ANALYZE')) return null;
      // a plain EXPLAIN only plans its statement
      return f('explain', ['read'], { scanCalls: false });
    }
    case 'HANDLER': {
      if (hasSubquery()) return null;
      const name = tableName(tokens, 1);
      return f('other', ['read'], { tables: name ? [{ name, op: 'read' }] : [] });
    }
    case 'CHECK':
    case 'CHECKSUM':
      if (w(1) !== 'TABLE' || hasSubquery()) return null;
      return f('other', ['read'], { tables: tablesAfter(tokens, 'TABLE', 'read') });
    case 'OPTIMIZE':
    case 'REPAIR':
      if (!tokens.some((t) => t.type === 'word' && t.value === 'TABLE') || hasSubquery()) return null;
      return f('other', ['write'], { tables: tablesAfter(tokens, 'TABLE', 'write') });
    case 'XA':
      if (hasSubquery()) return null;
      // Defends against a read grant finishing another session's work: a prepared XA transaction outlives its
      // connection, and MariaDB lets any account XA COMMIT or XA ROLLBACK it by its xid (XA RECOVER lists them) —
      // a SELECT-only account commits, or throws away, the rows a write grant prepared. Finishing one is a write.
      if (w(1) === 'COMMIT' || w(1) === 'ROLLBACK') return f('transaction', ['write']);
      return f('transaction', []);
    case 'SHOW':
      if (tokens.some((t) => t.type === 'symbol' && t.value === '(')) return null;
      return f('show', ['read']);
    case 'HELP':
      return tokens.length === 2 && tokens[1]!.type === 'string' ? f('other', ['read']) : null;
    case 'LOAD': {
      if (w(1) === 'INDEX') return f('other', ['admin']);
      if (w(1) !== 'DATA' && w(1) !== 'XML') return null;
      const into = findTopLevelWord(tokens, 'INTO');
      const name = into >= 0 && w(into + 1) === 'TABLE' ? tableName(tokens, into + 2) : undefined;
      // LOCAL reads a file on the client host, the rest one on the server: both move files into tables
      const local = tokens.slice(0, into < 0 ? tokens.length : into).some((t) => t.type === 'word' && t.value === 'LOCAL');
      return f('load', ['write', 'file'], { tables: name ? [{ name, op: 'write' }] : [], ...(local ? { clientFile: true } : {}) });
    }
    case 'INSTALL':
    case 'UNINSTALL':
      // plugins are shared libraries loaded into the server process
      return f('other', ['admin', 'file']);
    case 'CHANGE':
    case 'START':
    case 'STOP':
      if (['MASTER', 'REPLICATION', 'SLAVE', 'REPLICA', 'GROUP_REPLICATION', 'ALL'].includes(w(1))) return f('other', ['admin']);
      // START TRANSACTION WITH CONSISTENT SNAPSHOT (mysqldump --single-transaction), READ ONLY / READ WRITE
      if (head === 'START' && w(1) === 'TRANSACTION' && tokens.slice(2).every((t) => t.type === 'word' && TXN_WORDS.has(t.value)) ) return f('transaction', []);
      return null;
    case 'GRANT': return f('grant', ['dcl'], { object: 'role' });
    case 'REVOKE': return f('revoke', ['dcl'], { object: 'role' });
    case 'DROP':
      if (w(1) === 'PREPARE') {
        const name = statementName(tokens[2]);
        return f('other', ['session'], name !== undefined ? { prepared: { op: 'deallocate', name } } : {});
      }
      return ddlStatement(head, tokens, f);
    case 'CREATE':
    case 'ALTER':
    case 'RENAME':
      return ddlStatement(head, tokens, f);
    default:
      if (ADMIN_HEADS.has(head)) return f('other', ['admin']);
      return null;
  }
}

type Make = (kind: StatementKind, effects: Effect[], extra?: Partial<FallbackFacts>) => FallbackFacts;

function setStatement(text: string, tokens: readonly Token[], f: Make): FallbackFacts | null {
  const w = (k: number): string => (tokens[k]?.type === 'word' ? tokens[k]!.value : '');
  if (w(1) === 'PASSWORD') return f('set', ['dcl'], { object: 'user' });
  if (w(1) === 'ROLE' || (w(1) === 'DEFAULT' && w(2) === 'ROLE')) return f('set', ['dcl'], { object: 'role' });
  if (w(1) === 'STATEMENT') {
    // MariaDB: SET STATEMENT var = value [, …] FOR <statement>
    const at = findTopLevelWord(tokens, 'FOR', 2);
    if (at < 0 || !tokens[at + 1]) return null;
    const effects: Effect[] = ['session'];
    if (isGlobal(tokens.slice(0, at))) effects.push('admin');
    // The per-statement assignments are the same session variables a plain SET changes, for the length of one
    // statement: `SET STATEMENT sql_log_bin=0 FOR DELETE …` hides that write from the binary log (replicas,
    // audits) exactly like `SET sql_log_bin=0`, so each assigned name is held to the same lists as SET's.
    let object: string | undefined;
    for (const name of setStatementVariables(tokens.slice(2, at))) {
      if (ADMIN_VARIABLES.has(name) && !effects.includes('admin')) effects.push('admin');
      if (PRIVILEGE_VARIABLES.has(name)) {
        if (!effects.includes('dcl')) effects.push('dcl');
        object = name === 'password' ? 'user' : 'role';
      }
    }
    return f('set', effects, { nestedCanonical: text.slice(tokens[at + 1]!.start), ...(object ? { object } : {}) });
  }
  if (isGlobal(tokens)) return f('set', ['admin']);
  if ((w(1) === 'CHARACTER' && w(2) === 'SET') || w(1) === 'CHARSET') {
    return tokens.some((t) => t.type === 'symbol' && t.value === '(') ? null : f('set', ['session']);
  }
  return null;
}

/**
 * The variables `SET STATEMENT a = 1, @@b = 2, session.c = 3 FOR` assigns (lower-case, without `@@` or a scope
 * prefix): each word right before a top-level `=` / `:=`.
 */
function setStatementVariables(tokens: readonly Token[]): string[] {
  const names: string[] = [];
  let depth = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.type === 'symbol' && t.value === '(') depth++;
    else if (t.type === 'symbol' && t.value === ')') depth--;
    else if (depth === 0 && t.type === 'symbol' && t.value === '=' && i > 0) {
      // `:=` arrives as two symbols
      const at = tokens[i - 1]!.type === 'symbol' && tokens[i - 1]!.value === ':' ? i - 2 : i - 1;
      if (at < 0) continue;
      const raw = tokens[at]!.value.toLowerCase().replace(/^@@/, '');
      names.push(raw.slice(raw.lastIndexOf('.') + 1));
    }
  }
  return names;
}

/** A bare GLOBAL / PERSIST / PERSIST_ONLY word: MySQL applies it to every later assignment. */
export function hasScopeWord(tokens: readonly Token[]): boolean {
  return tokens.some((t) => t.type === 'word' && GLOBAL_SCOPES.has(t.value));
}

/** Scope word or @@global.x anywhere (the fallback cannot tell targets from values, so it over-blocks). */
function isGlobal(tokens: readonly Token[]): boolean {
  return hasScopeWord(tokens) || tokens.some((t) => t.type === 'word' && GLOBAL_PREFIXES.some((p) => t.value.startsWith(p)));
}

function ddlStatement(head: string, tokens: readonly Token[], f: Make): FallbackFacts | null {
  // skip OR REPLACE, DEFINER = user, SQL SECURITY …, ALGORITHM = …, AGGREGATE, TEMPORARY, ONLINE, IGNORE
  let k = 1;
  for (;;) {
    const v = tokens[k]?.type === 'word' ? tokens[k]!.value : '';
    if (v === 'OR' && tokens[k + 1]?.value === 'REPLACE') k += 2;
    else if ((v === 'DEFINER' || v === 'ALGORITHM') && tokens[k + 1]?.value === '=') {
      k += 3;
      if (tokens[k]?.value === '@') k += 2;
    } else if (v === 'SQL' && tokens[k + 1]?.value === 'SECURITY') k += 3;
    else if (['AGGREGATE', 'TEMPORARY', 'ONLINE', 'OFFLINE', 'IGNORE', 'UNIQUE', 'FULLTEXT', 'SPATIAL'].includes(v)) k++;
    else break;
  }
  const obj = tokens[k]?.type === 'word' ? tokens[k]!.value : '';
  const kind = (head === 'RENAME' ? 'alter' : head.toLowerCase()) as StatementKind;
  if (obj === 'USER' || obj === 'ROLE') return f(kind, ['dcl'], { object: obj.toLowerCase() });
  if (head === 'CREATE' && obj === 'FUNCTION' && tokens.some((t) => t.type === 'word' && t.value === 'SONAME')) {
    // a loadable function is a shared library in the server process: code execution on the host
    return f('create', ['admin', 'file'], { object: 'function' });
  }
  if (ROUTINES.has(obj)) {
    const has = (v: string): boolean => tokens.some((t) => t.type === 'word' && t.value === v);
    // ALTER PROCEDURE/FUNCTION only changes characteristics (COMMENT, LANGUAGE, data access): the body is not
    // touched, so nothing new runs; ALTER EVENT … DO replaces a body
    const bodyUnchanged = head === 'DROP' || (head === 'ALTER' && (obj === 'PROCEDURE' || obj === 'FUNCTION')) || (head === 'ALTER' && obj === 'EVENT' && !has('DO'));
    const effects: Effect[] = bodyUnchanged ? ['ddl'] : ['ddl', 'dynamic'];
    // SQL SECURITY DEFINER makes every caller run the routine with its definer's privileges
    if (head === 'ALTER' && has('SECURITY') && has('DEFINER')) effects.push('dcl');
    return f(kind, effects, { object: obj.toLowerCase() });
  }
  if (obj === 'SERVER') return f(kind, ['ddl', 'admin'], { object: 'server' });
  if (head === 'ALTER' && obj === 'TABLE') {
    const name = tableName(tokens, k + 1);
    // DROP COLUMN/INDEX/PARTITION, TRUNCATE PARTITION and DISCARD TABLESPACE lose data or integrity; EXCHANGE
    // PARTITION moves the partition's rows out into another table (and that table's rows in) without a DELETE
    const drops = tokens.some((t, i) => i > k + 1 && t.type === 'word' && ['DROP', 'TRUNCATE', 'DISCARD', 'EXCHANGE'].includes(t.value));
    const tables: TableRef[] = name ? [{ name, op: 'ddl' }] : [];
    // RENAME [TO | AS] new_name (TO is optional) moves the table, maybe into another database; RENAME COLUMN/INDEX/
    // KEY rename inside it
    for (let i = k + 2; i < tokens.length; i++) {
      if (tokens[i]!.type !== 'word' || tokens[i]!.value !== 'RENAME') continue;
      const next = tokens[i + 1]?.type === 'word' ? tokens[i + 1]!.value : '';
      if (next === 'COLUMN' || next === 'INDEX' || next === 'KEY') continue;
      const target = tableName(tokens, next === 'TO' || next === 'AS' ? i + 2 : i + 1);
      if (target === undefined) return null;
      tables.push({ name: target, op: 'ddl' });
    }
    // Security: generated columns (`AS (expr) PERSISTENT`), DEFAULT (expr) and CHECK (expr) read the table's columns
    // into new places; text the parser could not read is not traced, so every name in it counts as read
    // (`ADD COLUMN g TEXT AS (email) PERSISTENT` would otherwise copy a masked column into an unmasked one)
    return f('alter', ['ddl'], { object: 'table', tables, drops, ...(name ? { namesAreColumnsOf: name } : {}) });
  }
  if (obj === 'DATABASE' || obj === 'SCHEMA') return f(kind, ['ddl'], { object: 'database' });
  if (obj === 'SEQUENCE' || obj === 'INDEX' || obj === 'VIEW' || obj === 'TABLESPACE' || obj === 'LOGFILE') {
    const effects: Effect[] = obj === 'TABLESPACE' || obj === 'LOGFILE' ? ['ddl', 'file'] : ['ddl'];
    return f(kind, effects, { object: obj.toLowerCase() });
  }
  if (head === 'DROP' && obj !== '') return f('drop', ['ddl'], { object: obj.toLowerCase() });
  return null;
}

/** `name` or `db.name` starting at token k (words or backtick names). */
function tableName(tokens: readonly Token[], k: number): string | undefined {
  const t = tokens[k];
  if (!t || (t.type !== 'word' && t.type !== 'quoted')) return undefined;
  const first = t.raw;
  // words keep their dots (db.t); a quoted name may be followed by `.` `name`
  if (tokens[k + 1]?.value === '.' && (tokens[k + 2]?.type === 'quoted' || tokens[k + 2]?.type === 'word')) {
    const second = tokens[k + 2]!;
    return `${first}.${second.raw}`;
  }
  return first;
}

function tablesAfter(tokens: readonly Token[], keyword: string, op: TableRef['op']): TableRef[] {
  const at = tokens.findIndex((t) => t.type === 'word' && t.value === keyword);
  if (at < 0) return [];
  const out: TableRef[] = [];
  for (let k = at + 1; k < tokens.length; k++) {
    const name = tableName(tokens, k);
    if (name === undefined) break;
    out.push({ name, op });
    while (k < tokens.length && tokens[k]!.value !== ',') k++;
  }
  return out;
}
