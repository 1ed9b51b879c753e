// MySQL/MariaDB reading barriers: SET statements that change how the server reads later text (sql_mode, the client
// character set), found in a statement's canonical text.
//
// Defends against reading-mode smuggling: `SET sql_mode = 'NO_BACKSLASH_ESCAPES'; SELECT 'a\', …` is read by the
// server one statement at a time, the second under the new mode. The facts carry the change so the protocol module
// re-learns its reading state from the server, and mysql-facts refuses a text whose later statements would be
// read under a mode the broker did not read them with.
import type { ReadingChange } from './facts.js';
import { tokenize, type Token } from './mysql-tokens.js';

/** sql_mode / character_set_client assignments and SET NAMES / SET CHARACTER SET in a canonical SET statement. */
export function mysqlReadingChanges(canonical: string): ReadingChange[] | undefined {
  if (!/^\s*SET\b/i.test(canonical)) return undefined;
  const tokens = tokenize(canonical);
  // SET STATEMENT … FOR stmt: the server reads stmt under the session's mode (proven in reading-mysql.test.ts) and
  // restores the variables it lists afterwards: no barrier of its own. But stmt may itself be a SET, whose change
  // stays (`SET STATEMENT max_statement_time=1 FOR SET sql_mode='ANSI_QUOTES'` leaves the session in ANSI_QUOTES,
  // even when the list names sql_mode): stmt's changes are the statement's
  if (tokens[1]?.type === 'word' && tokens[1].value === 'STATEMENT') {
    let d = 0;
    for (let i = 2; i < tokens.length; i++) {
      const t = tokens[i]!;
      if (t.type === 'symbol' && t.value === '(') d++;
      if (t.type === 'symbol' && t.value === ')') d--;
      if (d === 0 && t.type === 'word' && t.value === 'FOR' && tokens[i + 1]) return mysqlReadingChanges(canonical.slice(tokens[i + 1]!.start));
    }
    return undefined;
  }
  const out: ReadingChange[] = [];
  // split the assignment list at top-level commas
  let depth = 0;
  let start = 1;
  const items: Token[][] = [];
  for (let i = 1; i <= tokens.length; i++) {
    const t = tokens[i];
    if (t?.type === 'symbol' && t.value === '(') depth++;
    if (t?.type === 'symbol' && t.value === ')') depth--;
    if (!t || (depth === 0 && t.type === 'symbol' && t.value === ',')) {
      items.push(tokens.slice(start, i));
      start = i + 1;
    }
  }
  for (const item of items) {
    let k = 0;
    const w = (j: number): string => (item[j]?.type === 'word' ? item[j]!.value : '');
    if (['SESSION', 'LOCAL', 'GLOBAL', 'PERSIST', 'PERSIST_ONLY'].includes(w(0))) k = 1;
    if (w(k) === 'NAMES') {
      out.push({ setting: 'character_set_client', value: literal(item.slice(k + 1, k + 2), item.length > k + 2 && w(k + 2) !== 'COLLATE') });
      continue;
    }
    if ((w(k) === 'CHARACTER' && w(k + 1) === 'SET') || w(k) === 'CHARSET') {
      const at = w(k) === 'CHARSET' ? k + 1 : k + 2;
      out.push({ setting: 'character_set_client', value: literal(item.slice(at, at + 1), item.length > at + 1) });
      continue;
    }
    // the variable's name is every token before `=` / `:=`, however written: `sql_mode`, a backtick-quoted
    // \`sql_mode\`, @@session.\`sql_mode\`, `@@SESSION . sql_mode` (the server takes each; a name read from the
    // first word only let a quoted or spaced one change the reading unseen)
    let v = k;
    const parts: string[] = [];
    for (; v < item.length && !(item[v]!.type === 'symbol' && (item[v]!.value === '=' || item[v]!.value === ':')); v++) {
      const t = item[v]!;
      parts.push(t.type === 'word' || t.type === 'quoted' ? t.value.toUpperCase() : t.value);
    }
    const name = parts.join('').replace(/^@@(?:SESSION\.|LOCAL\.|GLOBAL\.)?/, '');
    if (name !== 'SQL_MODE' && name !== 'CHARACTER_SET_CLIENT') continue;
    if (item[v]?.value === ':') v++;
    if (item[v]?.value !== '=') continue;
    out.push({ setting: name.toLowerCase(), value: literal(item.slice(v + 1, v + 2), item.length > v + 2) });
  }
  return out.length ? out : undefined;
}

/** A single string or word value; undefined (unknown) for an expression, a variable or DEFAULT. */
function literal(t: Token[], more: boolean): string | null | undefined {
  const v = t[0];
  if (!v || more) return undefined;
  if (v.type === 'string') return v.value;
  if (v.type === 'word' && v.value === 'DEFAULT') return null;
  if (v.type === 'word' && !v.value.startsWith('@')) return v.raw;
  if (v.type === 'quoted') return v.value;
  return undefined;
}

/** sql_mode flags whose effect on reading the broker models (the rest it refuses to guess after a barrier). */
const MODELED = new Set(['ANSI_QUOTES', 'NO_BACKSLASH_ESCAPES']);
/** Flags that change lexing or parsing in ways the reader does not model. */
const UNMODELED = new Set(['ANSI', 'PIPES_AS_CONCAT', 'IGNORE_SPACE', 'HIGH_NOT_PRECEDENCE', 'ORACLE', 'MSSQL', 'DB2', 'POSTGRESQL', 'MAXDB', 'MYSQL323', 'MYSQL40', 'NO_KEY_OPTIONS', 'NO_TABLE_OPTIONS', 'NO_FIELD_OPTIONS', 'EMPTY_STRING_IS_NULL']);

/** Whether a sql_mode value only uses flags whose reading the broker models (a known value, nothing exotic). */
export function modeledSqlMode(value: string | null | undefined): boolean {
  if (typeof value !== 'string') return false;
  return value.toUpperCase().split(',').map((f) => f.trim()).every((f) => f === '' || MODELED.has(f) || !UNMODELED.has(f));
}
