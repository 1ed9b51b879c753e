// Column lineage pieces for MySQL/MariaDB: what each column of a stored view definition, and the result of a stored
// function's body, can carry (the names of the source columns), and which columns an ALTER TABLE renames. The session
// resolves these names through its catalog snapshot (session/mysql-schema.ts) to decide masks by where a value
// comes from instead of by the name it is shown under (a view that renames `email` to `contact`).
import { analyze } from './analyze.js';
import type { ReadOptions } from './facts.js';
import { lexMysql } from './mysql-lexer.js';
import { calledNames, findTopLevelWord, tokenize, type Token } from './mysql-tokens.js';

/** A name the lineage cannot follow (a function body it cannot read, a definition it cannot parse). */
export const UNKNOWN_SOURCE = '?';
/** Marks a source set whose value is computed from its sources, not one of them (the mask plan redacts it whole). */
export const DERIVED = '\u0000derived';

/** One column of a view: the names (lower-case `a.b.c` chains) its value can derive from, and the routines it calls. */
export interface ViewColumnLineage {
  name: string;
  refs: Set<string>;
  calls: Set<string>;
  /** the item is one column reference (`a`, `t`.`a`): its value passes as it is, not computed */
  plain: boolean;
}

export interface ViewLineage {
  columns: ViewColumnLineage[];
  /** `db.table` / `table` names the definition reads from (after FROM / JOIN), lower-case */
  tables: string[];
}

const SET_OPERATORS = new Set(['UNION', 'EXCEPT', 'INTERSECT', 'MINUS']);

function isName(t: Token | undefined): boolean {
  return !!t && (t.type === 'quoted' || t.type === 'word');
}

interface Chain {
  parts: string[];
  /** index of the token after the chain */
  end: number;
  start: number;
}

/** `a`.`b`.`c` chains (any mix of quoted names and words) starting at token k, or null. */
function chainAt(tokens: readonly Token[], k: number): Chain | null {
  if (!isName(tokens[k])) return null;
  const parts = [tokens[k]!.raw];
  let j = k + 1;
  // a dotted word (`db.t`) arrives as one token from the tokenizer
  if (tokens[k]!.type === 'word' && tokens[k]!.raw.includes('.')) parts.splice(0, 1, ...tokens[k]!.raw.split('.'));
  while (tokens[j]?.type === 'symbol' && tokens[j]!.value === '.' && isName(tokens[j + 1])) {
    parts.push(tokens[j + 1]!.raw);
    j += 2;
  }
  return { parts: parts.map((p) => p.toLowerCase()), start: k, end: j };
}

/** Column references and called routine names in tokens[from, to). */
function refsIn(tokens: readonly Token[], from: number, to: number): { refs: Set<string>; calls: Set<string> } {
  const refs = new Set<string>();
  const calls = new Set<string>();
  for (let k = from; k < to; ) {
    const prev = tokens[k - 1];
    const c = chainAt(tokens, k);
    if (!c) {
      k++;
      continue;
    }
    const next = tokens[c.end];
    const afterAs = prev?.type === 'word' && prev.value === 'AS';
    if (next?.type === 'symbol' && next.value === '(') calls.add(c.parts.join('.'));
    // a quoted name or a qualified chain is a column (MariaDB prints every column reference quoted and qualified);
    // a bare word is a keyword or a function name; the name after AS is an alias
    else if (!afterAs && (c.parts.length > 1 || tokens[k]!.type === 'quoted')) refs.add(c.parts.join('.'));
    k = c.end;
  }
  return { refs, calls };
}

/** Names after FROM / JOIN (and after commas in a FROM list): the tables and views a definition reads. */
function tablesIn(tokens: readonly Token[]): string[] {
  const out: string[] = [];
  let inFrom = false;
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k]!;
    if (t.type === 'word' && (t.value === 'FROM' || t.value === 'JOIN')) {
      inFrom = true;
      const c = chainAt(tokens, k + 1);
      if (c && tokens[c.end]?.value !== '(') out.push(c.parts.join('.'));
    } else if (t.type === 'word' && (t.value === 'WHERE' || t.value === 'GROUP' || t.value === 'ORDER' || t.value === 'HAVING' || t.value === 'LIMIT' || t.value === 'ON' || t.value === 'SELECT')) {
      inFrom = false;
    } else if (inFrom && t.type === 'symbol' && t.value === ',') {
      const c = chainAt(tokens, k + 1);
      if (c) out.push(c.parts.join('.'));
    }
  }
  return out;
}

/**
 * What evaluating a stored view definition runs, wherever it stands (select list, WHERE, joins, subqueries): the
 * functions it calls (lower-case, as the last name before `(`) and the relations it reads (`db.t` or `t`).
 */
export function viewDefinitionReads(definition: string): { calls: string[]; tables: string[] } {
  const tokens = tokenize(definition);
  return { calls: calledNames(tokens), tables: tablesIn(tokens).map((t) => t.toLowerCase()) };
}

/**
 * Reads a stored view definition as MariaDB/MySQL print it in information_schema.VIEWS (`select <expr> AS `name`, …
 * from …`, every column qualified and aliased). Each view column gets the references of its own select item; a
 * definition with more than one SELECT (derived tables, subqueries, set operations, CTEs) gives every column every
 * reference in the definition, so a value renamed inside a derived table is still traced. Null when unreadable.
 */
export function viewDefinitionLineage(definition: string): ViewLineage | null {
  const tokens = tokenize(definition);
  if (tokens[0]?.type !== 'word' || tokens[0].value !== 'SELECT') return null;
  const tables = tablesIn(tokens);
  const from = findTopLevelWord(tokens, 'FROM');
  const listEnd = from < 0 ? tokens.length : from;
  const items: Array<[number, number]> = [];
  let depth = 0;
  let start = 1;
  for (let k = 1; k < listEnd; k++) {
    const t = tokens[k]!;
    if (t.type === 'symbol' && t.value === '(') depth++;
    else if (t.type === 'symbol' && t.value === ')') depth--;
    else if (depth === 0 && t.type === 'symbol' && t.value === ',') {
      items.push([start, k]);
      start = k + 1;
    }
  }
  items.push([start, listEnd]);
  const selects = tokens.filter((t) => t.type === 'word' && t.value === 'SELECT').length;
  const whole = selects > 1 || tokens.some((t) => t.type === 'word' && (SET_OPERATORS.has(t.value) || t.value === 'WITH'));
  const all = whole ? refsIn(tokens, 0, tokens.length) : null;
  const columns: ViewColumnLineage[] = [];
  for (const [a, b] of items) {
    const last = tokens[b - 1];
    const asWord = tokens[b - 2];
    // MariaDB aliases every item; an item without `AS name` cannot be named: unreadable
    if (!last || !(asWord?.type === 'word' && asWord.value === 'AS')) return null;
    const own = all ?? refsIn(tokens, a, b - 2);
    const expr = tokens.slice(a, b - 2);
    const plain = !whole && expr.length % 2 === 1 && expr.every((t, k) => (k % 2 === 0 ? isName(t) : t.type === 'symbol' && t.value === '.'));
    columns.push({ name: last.value.toLowerCase(), refs: own.refs, calls: own.calls, plain });
  }
  return { columns, tables };
}

/** What a stored function's body can return: the columns it reads (qualified by its tables) and the routines it calls. */
export interface RoutineLineage {
  refs: Set<string>;
  calls: Set<string>;
  tables: string[];
}

/**
 * Reads a stored function body as information_schema.ROUTINES shows it. `RETURN <expr>` is read as `SELECT <expr>`
 * (its columns, tables and calls); a compound body (BEGIN … END) or anything else is not traced (null: the
 * function's result is then of unknown lineage and masked whenever masks apply).
 */
export function routineBodyLineage(definition: string, opts: ReadOptions = {}): RoutineLineage | null {
  const m = /^\s*return\b([\s\S]*)$/i.exec(definition);
  if (!m) return null;
  const facts = analyze('mysql', `SELECT ${m[1]!.trim().replace(/;\s*$/, '')}`, opts);
  if (!facts.length || facts.some((f) => f.kind === 'unparsed' || f.kind !== 'select')) return null;
  const refs = new Set<string>();
  const tables = new Set<string>();
  const calls = new Set<string>();
  for (const f of facts) {
    for (const t of f.tables) tables.add(t.name.replace(/`/g, '').toLowerCase());
    for (const c of f.columns) refs.add(c.replace(/`/g, '').toLowerCase());
    for (const fn of f.functions) calls.add(fn.toLowerCase());
  }
  return { refs, calls, tables: [...tables] };
}

/** A column whose values an ALTER TABLE makes readable under another name or through an expression. */
export interface ColumnMove {
  table: string;
  column: string;
}

/**
 * The columns an ALTER TABLE renames: `CHANGE [COLUMN] [IF EXISTS] old new …` and `RENAME COLUMN old TO new`
 * (generated columns over masked columns are column reads in the facts already). Read from the lexer's canonical
 * text, so comments and quoting cannot hide a clause.
 */
export function alterColumnMoves(text: string, opts: ReadOptions = {}): ColumnMove[] | null {
  const server = { mariadb: opts.mariadb ?? true, version: opts.serverVersion ?? 0 };
  // quoting modes the session has not confirmed are read every way (the union of what each reading renames)
  const ansi = opts.ansiQuotes === undefined ? [false, true] : [opts.ansiQuotes];
  const nbe = opts.noBackslashEscapes === undefined ? [false, true] : [opts.noBackslashEscapes];
  const statements: { text: string }[] = [];
  for (const a of ansi) {
    for (const n of nbe) {
      const lexed = lexMysql(text, { server, ansiQuotes: a, noBackslashEscapes: n });
      // a text the lexer cannot read: the caller cannot tell what it renames (null: fail closed)
      if (!lexed.ok && !lexed.rejected) return null;
      statements.push(...lexed.statements);
    }
  }
  const out: ColumnMove[] = [];
  const seen = new Set<string>();
  for (const st of statements) {
    if (seen.has(st.text)) continue;
    seen.add(st.text);
    const tokens = tokenize(st.text);
    let k = 0;
    if (tokens[k]?.value === 'ALTER') k++;
    else continue;
    while (tokens[k]?.type === 'word' && (tokens[k]!.value === 'ONLINE' || tokens[k]!.value === 'IGNORE')) k++;
    if (tokens[k]?.value !== 'TABLE') continue;
    k++;
    if (tokens[k]?.value === 'IF' && tokens[k + 1]?.value === 'EXISTS') k += 2;
    const table = chainAt(tokens, k);
    if (!table) continue;
    const name = table.parts.join('.');
    let depth = 0;
    for (let j = table.end; j < tokens.length; j++) {
      const t = tokens[j]!;
      if (t.type === 'symbol' && t.value === '(') depth++;
      else if (t.type === 'symbol' && t.value === ')') depth--;
      if (depth !== 0 || t.type !== 'word') continue;
      // a clause starts the statement's list or follows a comma
      const prev = tokens[j - 1];
      if (!(j === table.end || (prev?.type === 'symbol' && prev.value === ','))) continue;
      let c = j + 1;
      if (t.value === 'CHANGE') {
        if (tokens[c]?.value === 'COLUMN') c++;
        if (tokens[c]?.value === 'IF' && tokens[c + 1]?.value === 'EXISTS') c += 2;
        if (isName(tokens[c])) out.push({ table: name, column: tokens[c]!.raw.toLowerCase() });
      } else if (t.value === 'RENAME' && tokens[c]?.value === 'COLUMN') {
        c++;
        if (tokens[c]?.value === 'IF' && tokens[c + 1]?.value === 'EXISTS') c += 2;
        if (isName(tokens[c])) out.push({ table: name, column: tokens[c]!.raw.toLowerCase() });
      }
    }
  }
  return out;
}
