// The databases a MySQL statement names explicitly, for the grant's database scope (session/database-scope.ts).
//
// Defends against reaching a database the grant does not cover without a USE: one MariaDB connection can name any
// database the upstream role may use (`SELECT * FROM payroll.salaries`, `DELETE FROM other.t WHERE …`,
// `SHOW TABLES FROM other`, `CREATE DATABASE x`, `ANALYZE TABLE other.t`), and every grant of one access level logs
// in upstream as the same role. Qualified table and routine names come from the parser (mysql-facts.ts); this file
// reads the forms the parser does not report, from the canonical tokens (the text as the server reads it).
import type { Token } from './mysql-tokens.js';

/** SHOW forms whose first FROM/IN names a table (a second one names its database). */
const SHOW_TABLE_FIRST = new Set(['COLUMNS', 'FIELDS', 'INDEX', 'INDEXES', 'KEYS']);
/** Words after CREATE/ALTER DATABASE that start its options instead of naming it (ALTER DATABASE of the current one). */
const DATABASE_OPTION_WORDS = new Set(['DEFAULT', 'CHARACTER', 'CHARSET', 'COLLATE', 'COMMENT', 'UPGRADE', 'READ', 'ENCRYPTION']);
/** Statements the parser does not read for table names: every `a.b` in them names database `a`. */
const TOKEN_READ_KINDS = new Set(['show', 'other', 'load', 'unparsed']);
const SEQUENCE_FUNCTIONS = new Set(['NEXTVAL', 'LASTVAL', 'SETVAL']);
/** Words only ever followed by an object name (never by a column): a qualified name after one names a database. */
const OBJECT_KEYWORDS = ['TABLE', 'TABLES', 'VIEW', 'SEQUENCE', 'PROCEDURE', 'FUNCTION', 'TRIGGER', 'EVENT', 'CALL', 'REFERENCES', 'JOIN', 'INTO'];

/** A token split where the server splits names: `a.b` is one lexer word here, three pieces to the server. */
interface Piece {
  kind: 'name' | 'dot' | 'other';
  value: string;
  /** the token's upper-cased word value, for keyword tests (names only) */
  word?: string;
}

/** Whether a number token is really a name (MySQL names may start with a digit: `1db.t`). */
function numberIsName(raw: string): boolean {
  const head = raw.split('.')[0]!;
  return raw.includes('.') && !/^(\d+|\d+e\d*|0x[0-9a-f]*|0b[01]*)$/i.test(head);
}

function pieces(tokens: readonly Token[]): Piece[] {
  const out: Piece[] = [];
  for (const t of tokens) {
    if (t.type === 'quoted') out.push({ kind: 'name', value: t.value });
    else if (t.type === 'symbol' && t.value === '.') out.push({ kind: 'dot', value: '.' });
    else if ((t.type === 'word' && !t.raw.startsWith('@') && t.raw.includes('.')) || (t.type === 'number' && numberIsName(t.raw))) {
      t.raw.split('.').forEach((part, i) => {
        if (i > 0) out.push({ kind: 'dot', value: '.' });
        if (part !== '') out.push({ kind: 'name', value: part, word: part.toUpperCase() });
      });
    } else if (t.type === 'word' && !t.raw.startsWith('@')) out.push({ kind: 'name', value: t.raw, word: t.value });
    else out.push({ kind: 'other', value: t.value });
  }
  return out;
}

function isWord(p: Piece | undefined, ...words: string[]): boolean {
  return p !== undefined && p.kind === 'name' && p.word !== undefined && words.includes(p.word);
}

function wordsFrom(ps: readonly Piece[], at: number, ...seq: string[]): boolean {
  return seq.every((w, i) => isWord(ps[at + i], w));
}

/**
 * Databases named by the tokens of one canonical statement: `CREATE|ALTER|DROP DATABASE|SCHEMA name`,
 * `SHOW CREATE DATABASE name`, `SHOW … FROM|IN name`, sequences (`NEXT VALUE FOR db.s`, `nextval(db.s)`), three-part
 * column names (`db.t.c`), and for statements of `kind` show/other/load every qualified name `db.x`.
 */
export function tokenDatabases(tokens: readonly Token[], kind: string): string[] {
  const ps = pieces(tokens);
  const out: string[] = [];
  const add = (p: Piece | undefined): void => {
    if (p?.kind === 'name') out.push(p.value);
  };
  // CREATE [OR REPLACE] / ALTER / DROP {DATABASE|SCHEMA} [IF [NOT] EXISTS] name; SHOW CREATE {DATABASE|SCHEMA} [IF NOT EXISTS] name
  let i = 0;
  if (wordsFrom(ps, 0, 'SHOW', 'CREATE')) i = 2;
  else if (wordsFrom(ps, 0, 'CREATE', 'OR', 'REPLACE')) i = 3;
  else if (isWord(ps[0], 'CREATE', 'ALTER', 'DROP')) i = 1;
  if (i > 0 && isWord(ps[i], 'DATABASE', 'SCHEMA')) {
    let j = i + 1;
    if (wordsFrom(ps, j, 'IF', 'NOT', 'EXISTS')) j += 3;
    else if (wordsFrom(ps, j, 'IF', 'EXISTS')) j += 2;
    const p = ps[j];
    const option = p?.word !== undefined && DATABASE_OPTION_WORDS.has(p.word);
    if (p?.kind === 'name' && !option && !(ps[j + 1]?.kind === 'other' && ps[j + 1]!.value === '=')) add(p);
  }
  // SHOW … FROM|IN name (before any WHERE / LIKE): a database, except the first operand of SHOW COLUMNS/INDEX …
  if (isWord(ps[0], 'SHOW')) {
    const k = isWord(ps[1], 'FULL', 'EXTENDED') ? (isWord(ps[2], 'FULL') ? 3 : 2) : 1;
    let tableFirst = ps[k]?.word !== undefined && SHOW_TABLE_FIRST.has(ps[k]!.word!);
    for (let j = k; j < ps.length; j++) {
      if (isWord(ps[j], 'WHERE', 'LIKE')) break;
      if (!isWord(ps[j], 'FROM', 'IN') || ps[j + 1]?.kind !== 'name') continue;
      // `FROM db.t`: a qualified name, read below
      if (ps[j + 2]?.kind === 'dot') {
        if (tableFirst) tableFirst = false;
        continue;
      }
      if (tableFirst) tableFirst = false;
      else add(ps[j + 1]);
    }
  }
  // DO is read by the parser (its subqueries may use table aliases: `DO (SELECT a.x FROM t a)`), and a statement
  // around a query (`ANALYZE FORMAT=JSON SELECT … FROM t u WHERE u.id = 1`) has that query read as a nested
  // statement, whose names the parser reports: its `alias.column` names are not databases
  const tokenRead = TOKEN_READ_KINDS.has(kind) && !isWord(ps[0], 'DO') && !ps.some((p) => isWord(p, 'SELECT'));
  // trigger bodies name the row being written as NEW.col / OLD.col
  const trigger = isWord(ps[0], 'CREATE') && ps.some((p) => isWord(p, 'TRIGGER'));
  const createLike = isWord(ps[0], 'CREATE') && !ps.some((p) => isWord(p, 'SELECT'));
  for (let j = 0; j + 2 < ps.length; j++) {
    if (ps[j]!.kind !== 'name' || ps[j + 1]!.kind !== 'dot' || ps[j + 2]!.kind !== 'name') continue;
    // a chain's first name only
    if (ps[j - 1]?.kind === 'dot') continue;
    const threePart = ps[j + 3]?.kind === 'dot' && ps[j + 4]?.kind === 'name';
    const sequence = wordsFrom(ps, j - 3, 'NEXT', 'VALUE', 'FOR') || wordsFrom(ps, j - 3, 'PREVIOUS', 'VALUE', 'FOR')
      || (ps[j - 1]?.kind === 'other' && ps[j - 1]!.value === '(' && isWord(ps[j - 2], ...SEQUENCE_FUNCTIONS));
    if (trigger && isWord(ps[j], 'NEW', 'OLD')) continue;
    // a keyword that only ever precedes an object name (`ALTER VIEW db.v`, `CREATE SEQUENCE db.s`, `REFERENCES db.t`,
    // `CREATE TABLE t LIKE db.t`, `JOIN db.t`, `INSERT INTO db.t`): the parser does not report every one of them
    const objectPosition = isWord(ps[j - 1], ...OBJECT_KEYWORDS) || (createLike && isWord(ps[j - 1], 'LIKE'))
      || (isWord(ps[j - 1], 'UPDATE') && !isWord(ps[j - 2], 'KEY'));
    if (tokenRead || threePart || sequence || objectPosition || (kind === 'show' && wordsFrom(ps, 0, 'SHOW', 'CREATE'))) add(ps[j]);
  }
  return out;
}

/** Schemas every connection reads (server metadata and catalogs); other rules decide what may be done with them. */
export function isSystemSchema(name: string): boolean {
  return name.toLowerCase() === 'information_schema' || name === 'mysql' || name === 'performance_schema' || name === 'sys';
}
