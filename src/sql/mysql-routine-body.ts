// MySQL/MariaDB stored routines whose body is one plain statement (`CREATE PROCEDURE p() UPDATE …`,
// `CREATE FUNCTION f(…) RETURNS … RETURN <expr>`): the body as a statement the broker can decide as if it were sent.
// Compound bodies (BEGIN … END, IF, LOOP, labels…) are read by routineCompoundBody below with mysql-compound.ts,
// the same reader that tells the lexer where the server ends such a statement.
import { CompoundError, arraySource, compoundAt, readCompound, routineHeader, routineParameters, type BodyPiece } from './mysql-compound.js';
import { tokenize, type Token } from './mysql-tokens.js';

/** Words a procedure body may start with to be read as one plain statement. */
const PLAIN_STARTS = new Set(['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'REPLACE', 'WITH']);
/** Characteristics between the parameter list (or RETURNS type) and the body. */
const CHARACTERISTIC_WORDS = new Set(['LANGUAGE', 'SQL', 'NOT', 'DETERMINISTIC', 'CONTAINS', 'NO', 'READS', 'MODIFIES', 'DATA', 'SECURITY', 'DEFINER', 'INVOKER']);

/**
 * The body of a CREATE PROCEDURE/FUNCTION canonical text as a statement text (`RETURN e` becomes `SELECT e`),
 * or null when the body is not one plain statement the broker reads the way the server does.
 */
export function routineSingleBody(canonical: string): string | null {
  const tokens = tokenize(canonical);
  const at = (k: number, w: string) => tokens[k]?.type === 'word' && tokens[k]!.value === w;
  let k = 0;
  if (!at(k, 'CREATE')) return null;
  k++;
  if (at(k, 'OR') && at(k + 1, 'REPLACE')) k += 2;
  // a routine run with another account's privileges (DEFINER = …) is not read: it stays refused as before
  if (at(k, 'DEFINER')) return null;
  if (at(k, 'AGGREGATE')) return null;
  const isFunction = at(k, 'FUNCTION');
  if (!isFunction && !at(k, 'PROCEDURE')) return null;
  k++;
  if (at(k, 'IF') && at(k + 1, 'NOT') && at(k + 2, 'EXISTS')) k += 3;
  // name, possibly qualified
  k = skipName(tokens, k);
  if (tokens[k]?.value !== '(') return null;
  k = skipParens(tokens, k);
  if (k < 0) return null;
  if (isFunction) {
    if (!at(k, 'RETURNS')) return null;
    // the return type runs to the first characteristic or RETURN
    k++;
    while (k < tokens.length && !at(k, 'RETURN') && !(tokens[k]!.type === 'word' && CHARACTERISTIC_WORDS.has(tokens[k]!.value) && !at(k, 'DATA')) && !at(k, 'COMMENT')) {
      if (tokens[k]!.value === '(') {
        k = skipParens(tokens, k);
        if (k < 0) return null;
      } else k++;
    }
  }
  for (;;) {
    if (at(k, 'COMMENT') && tokens[k + 1]?.type === 'string') k += 2;
    else if (tokens[k]?.type === 'word' && CHARACTERISTIC_WORDS.has(tokens[k]!.value)) k++;
    else break;
  }
  const start = tokens[k];
  if (!start) return null;
  // the parameters are values inside the body, never columns (the server's rule): `DELETE FROM t WHERE x = 5`
  // with a parameter x deletes every row when called with 5, so it is read as `WHERE @x = 5` (not scoped)
  const params = routineParameters(tokens.slice(0, k));
  if (isFunction) return at(k, 'RETURN') && tokens.length > k + 1 ? `SELECT ${withVariables(canonical, tokens, tokens[k + 1]!.start, canonical.length, params)}` : null;
  return start.type === 'word' && PLAIN_STARTS.has(start.value) ? withVariables(canonical, tokens, start.start, canonical.length, params) : null;
}

function skipName(tokens: readonly Token[], k: number): number {
  if (tokens[k]?.type !== 'word' && tokens[k]?.type !== 'quoted') return k;
  k++;
  while (tokens[k]?.value === '.' && (tokens[k + 1]?.type === 'word' || tokens[k + 1]?.type === 'quoted')) k += 2;
  return k;
}

/** Index after the parenthesis group opening at k, or -1 when it does not close. */
function skipParens(tokens: readonly Token[], k: number): number {
  let depth = 0;
  for (let j = k; j < tokens.length; j++) {
    const t = tokens[j]!;
    if (t.type === 'symbol' && t.value === '(') depth++;
    else if (t.type === 'symbol' && t.value === ')' && --depth === 0) return j + 1;
  }
  return -1;
}

/** One piece of SQL a compound routine body runs, as a statement text the broker decides as if it were sent. */
export interface CompoundBodyStatement {
  text: string;
  /** inside a loop or a condition handler: may run any number of times */
  repeated: boolean;
}

/**
 * The SQL a CREATE PROCEDURE/FUNCTION with a compound body (`BEGIN … END`, IF, CASE, LOOP, WHILE, REPEAT) runs:
 * every embedded statement (cursor queries included) and every expression (conditions, DEFAULT values, RETURN) as
 * `SELECT expr`. 'plain' when the body is not compound (routineSingleBody reads it); null when it is compound but
 * not read: DEFINER/AGGREGATE, a trigger or event, or anything mysql-compound.ts does not read exactly.
 */
export function routineCompoundBody(canonical: string): CompoundBodyStatement[] | 'plain' | null {
  const tokens = tokenize(canonical);
  const h = routineHeader(tokens);
  if (!h || !compoundAt(tokens, h.body)) return 'plain';
  if (h.unread || (h.object !== 'procedure' && h.object !== 'function')) return null;
  const src = arraySource(tokens, h.body);
  const pieces: BodyPiece[] = [];
  try {
    readCompound(src, pieces, routineParameters(tokens.slice(0, h.body)));
  } catch (err) {
    if (err instanceof CompoundError) return null;
    throw err;
  }
  // the statement is the routine: nothing may follow its END
  if (src.peek() !== undefined) return null;
  return pieces.map((p) => {
    const text = withVariables(canonical, tokens, p.start, p.end, p.variables);
    return { text: p.kind === 'expression' ? `SELECT ${text}` : withoutIntoVariables(text), repeated: p.repeated };
  });
}

/**
 * The piece's text with every bare name of a parameter or local variable in scope written as a user variable
 * (`id` → `@id`). Inside a routine such a name is the variable, never a column of the same name (the server's
 * rule), so `DELETE FROM t WHERE id = p_id` is scoped by a value while `WHERE id = id` with a variable `id`
 * compares the variable with itself: not scoped, as the server runs it. A variable where a name is expected
 * (a column list) makes the text unreadable: refused.
 */
function withVariables(text: string, tokens: readonly Token[], start: number, end: number, variables: ReadonlySet<string>): string {
  if (variables.size === 0) return text.slice(start, end).trim();
  const piece = tokens.filter((t) => t.start >= start && t.start < end);
  const columns = insertColumnList(piece);
  let out = '';
  let at = start;
  const isSym = (x: Token | undefined, v: string): boolean => x?.type === 'symbol' && x.value === v;
  piece.forEach((t, k) => {
    const name = t.type === 'word' ? t.value : t.type === 'quoted' ? t.value.toUpperCase() : '';
    if (name === '' || !variables.has(name)) return;
    // a call `count(…)` is the function; a part of `t`.`x` names a column; an INSERT's column list names columns
    if (isSym(piece[k + 1], '(') || isSym(piece[k + 1], '.') || isSym(piece[k - 1], '.')) return;
    if (columns && k > columns[0] && k < columns[1]) return;
    // `SET GLOBAL name = …` / `SESSION name`: a system variable, whatever local variables exist
    const before = piece[k - 1];
    if (before?.type === 'word' && ['GLOBAL', 'SESSION', 'LOCAL', 'PERSIST', 'PERSIST_ONLY'].includes(before.value)) return;
    out += `${text.slice(at, t.start)}@${t.type === 'quoted' ? `\`${t.value.replace(/`/g, '``')}\`` : t.raw}`;
    at = t.end;
  });
  return (out + text.slice(at, end)).trim();
}

/** Token indexes of the parentheses around an INSERT/REPLACE column list (`INSERT INTO t (a, b) …`), or null. */
function insertColumnList(tokens: readonly Token[]): [number, number] | null {
  const first = tokens[0];
  if (first?.type !== 'word' || (first.value !== 'INSERT' && first.value !== 'REPLACE')) return null;
  for (let k = 1; k < tokens.length; k++) {
    const t = tokens[k]!;
    if (t.type === 'word' && ['VALUES', 'VALUE', 'SELECT', 'SET', 'WITH'].includes(t.value)) return null;
    if (t.type === 'symbol' && t.value === '(') {
      const before = tokens[k - 1]!;
      if (before.type !== 'word' && before.type !== 'quoted') return null;
      for (let j = k + 1; j < tokens.length; j++) if (tokens[j]!.type === 'symbol' && tokens[j]!.value === ')') return [k, j];
      return null;
    }
  }
  return null;
}

/**
 * A body's `SELECT … INTO var[, var]` (before FROM or at the end) assigns local or user variables: the SELECT is
 * what runs, so the list is left out (sqlparser-rs would read `INTO x` as a new table). INTO OUTFILE / DUMPFILE
 * stay: they write files.
 */
function withoutIntoVariables(text: string): string {
  const tokens = tokenize(text);
  if (tokens[0]?.type !== 'word' || tokens[0].value !== 'SELECT') return text;
  let depth = 0;
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k]!;
    if (t.type === 'symbol' && t.value === '(') depth++;
    else if (t.type === 'symbol' && t.value === ')') depth--;
    else if (depth === 0 && t.type === 'word' && t.value === 'INTO') {
      const target = tokens[k + 1];
      if (!target || (target.type === 'word' && (target.value === 'OUTFILE' || target.value === 'DUMPFILE'))) return text;
      let j = k + 1;
      for (;;) {
        const v = tokens[j];
        if (!v || (v.type !== 'word' && v.type !== 'quoted')) return text;
        j++;
        if (!(tokens[j]?.type === 'symbol' && tokens[j]!.value === ',')) break;
        j++;
      }
      const after = tokens[j] ? tokens[j]!.start : text.length;
      return `${text.slice(0, t.start)} ${text.slice(after)}`.trim();
    }
  }
  return text;
}
