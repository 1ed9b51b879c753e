// MySQL syntax sqlparser-rs does not read, rewritten token by token into equivalents it does (same grouping, same effects).

import { findTopLevelWord, type Token } from './mysql-tokens.js';

// Ordinary application SQL (Rails' connect-time SET, SQLAlchemy's CAST probe, `MOD`, `!`, `SOUNDS LIKE`,
// multi-table UPDATE, trailing `INTO @v`, `NEXT VALUE FOR`) used to be refused as unparsed. Each rewrite below
// swaps one construct for another at the SAME precedence level with the same operands, so the parser groups the
// statement as MySQL does and every table, column and call stays in place. A rewrite never removes an
// expression: only keywords whose effect is cosmetic (ZEROFILL, a character set) or that the caller re-derives
// from the tokens (`INTO @v` is a session effect) are blanked. Where the substitute evaluates differently
// (`SOUNDS LIKE` → `RLIKE`, `DIV` → `/`), the WHERE folder is told not to evaluate it (`opaqueDivide`) or the
// substitute is one the folder never evaluates (RLIKE), so a rewrite cannot make a WHERE look narrower.

export interface Rewritten {
  text: string;
  /** `/` in the rewritten text may stand for MySQL's integer `DIV`: do not fold divisions */
  opaqueDivide: boolean;
  /** the original text would parse, but with wrong grouping (`||`, DIV): parse this one instead */
  preferred: boolean;
}

interface Edit {
  start: number;
  end: number;
  by: string;
}

const isWord = (t: Token | undefined, v: string): boolean => t?.type === 'word' && t.value === v;
const isSym = (t: Token | undefined, v: string): boolean => t?.type === 'symbol' && t.value === v;

/** Index of the `)` closing the `(` at k, or -1. */
function closing(tokens: readonly Token[], k: number): number {
  let depth = 0;
  for (let i = k; i < tokens.length; i++) {
    if (isSym(tokens[i], '(')) depth++;
    else if (isSym(tokens[i], ')') && --depth === 0) return i;
  }
  return -1;
}

/** Token values that end an operand: after one of these, `MOD` is the binary operator, not the function. */
function endsOperand(t: Token | undefined): boolean {
  if (!t) return false;
  if (t.type === 'number' || t.type === 'string' || t.type === 'quoted') return true;
  if (t.type === 'symbol') return t.value === ')';
  return !OPERAND_STARTERS.has(t.value);
}
/** Words after which an expression starts (so a following MOD( is the function). */
const OPERAND_STARTERS = new Set([
  'SELECT', 'WHERE', 'AND', 'OR', 'NOT', 'XOR', 'ON', 'SET', 'BY', 'HAVING', 'WHEN', 'THEN', 'ELSE', 'CASE',
  'DISTINCT', 'ALL', 'IN', 'IS', 'LIKE', 'BETWEEN', 'VALUES', 'VALUE', 'RETURN', 'DO', 'INTERVAL', 'DIV', 'MOD',
  'REGEXP', 'RLIKE', 'USING', 'AS', 'IF', 'UNTIL', 'WHILE', 'LIMIT', 'OFFSET', 'FROM', 'ANY', 'SOME', 'EXISTS',
]);

/**
 * The last token of the operand starting at k (the operand of a prefix `!`): unary prefixes, a parenthesised
 * expression, a literal, a (dotted, quoted) name or a call, then any `COLLATE name`. -1 when unsure.
 */
function operandEnd(tokens: readonly Token[], k: number): number {
  const t = tokens[k];
  if (!t) return -1;
  let end: number;
  if (isSym(t, '!') || isSym(t, '-') || isSym(t, '~') || isSym(t, '+') || isWord(t, 'BINARY')) {
    return operandEnd(tokens, k + 1);
  } else if (isSym(t, '(')) {
    end = closing(tokens, k);
  } else if (t.type === 'number' || t.type === 'string') {
    end = k;
  } else if (t.type === 'word' || t.type === 'quoted') {
    if (t.type === 'word' && (OPERAND_STARTERS.has(t.value) || t.value === 'NOT')) return -1;
    end = k;
    // _charset'literal'
    if (t.type === 'word' && t.value.startsWith('_') && tokens[k + 1]?.type === 'string') end = k + 1;
    // `db`.`t`.`c` (words keep their dots inside the token)
    while (isSym(tokens[end + 1], '.') && (tokens[end + 2]?.type === 'word' || tokens[end + 2]?.type === 'quoted')) end += 2;
    if (isSym(tokens[end + 1], '(')) end = closing(tokens, end + 1);
  } else {
    return -1;
  }
  if (end < 0) return -1;
  while (isWord(tokens[end + 1], 'COLLATE') && tokens[end + 2] && tokens[end + 2]!.type !== 'symbol') end += 2;
  return end;
}

/** The rewritten text, or undefined when no rewrite applies (or one that applies cannot be done safely). */
export function rewriteForParser(text: string, tokens: readonly Token[]): Rewritten | undefined {
  const edits: Edit[] = [];
  let opaqueDivide = false;
  let preferred = false;
  const head = tokens[0]?.type === 'word' ? tokens[0].value : '';
  const blank = (from: number, to: number): void => { edits.push({ start: tokens[from]!.start, end: tokens[to]!.end, by: '' }); };

  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k]!;
    const prev = tokens[k - 1];
    // a MOD b ≡ a % b (same operator, same precedence)
    if (isWord(t, 'MOD') && endsOperand(prev) && !isSym(tokens[k + 1], ')') && !isSym(tokens[k + 1], ',')) {
      edits.push({ start: t.start, end: t.end, by: '%' });
    } else if (isSym(t, '|') && isSym(tokens[k + 1], '|') && tokens[k + 1]!.start === t.end) {
      // || is OR under MySQL's default sql_mode (PIPES_AS_CONCAT is not assumed); sqlparser-rs reads concatenation
      edits.push({ start: t.start, end: tokens[k + 1]!.end, by: 'OR' });
      preferred = true;
      k++;
    } else if (isWord(t, 'DIV') && endsOperand(prev)) {
      // a DIV b sits at * / % precedence; sqlparser-rs parses its own DIV at the wrong level
      edits.push({ start: t.start, end: t.end, by: '/' });
      opaqueDivide = true;
      preferred = true;
    } else if (isSym(t, '!') && !isSym(tokens[k + 1], '=')) {
      // !x binds tighter than any binary operator: (NOT x) keeps that grouping
      const end = operandEnd(tokens, k + 1);
      if (end < 0) return undefined;
      edits.push({ start: t.start, end: t.end, by: '(NOT ' });
      edits.push({ start: tokens[end]!.end, end: tokens[end]!.end, by: ')' });
    } else if (isWord(t, 'SOUNDS') && isWord(tokens[k + 1], 'LIKE') && endsOperand(prev)) {
      // a SOUNDS LIKE b: a comparison, like RLIKE; the WHERE folder evaluates neither
      edits.push({ start: t.start, end: tokens[k + 1]!.end, by: 'RLIKE' });
      k++;
    } else if ((isWord(t, 'NEXT') || isWord(t, 'PREVIOUS')) && isWord(tokens[k + 1], 'VALUE') && isWord(tokens[k + 2], 'FOR')) {
      // MariaDB sequences: NEXT VALUE FOR s ≡ NEXTVAL(s), PREVIOUS VALUE FOR s ≡ LASTVAL(s)
      const nameEnd = nameEndAt(tokens, k + 3);
      if (nameEnd < 0) return undefined;
      edits.push({ start: t.start, end: tokens[k + 2]!.end, by: isWord(t, 'NEXT') ? 'NEXTVAL(' : 'LASTVAL(' });
      edits.push({ start: tokens[nameEnd]!.end, end: tokens[nameEnd]!.end, by: ')' });
      k = nameEnd;
    } else if ((isWord(t, 'CHAR') || isWord(t, 'CAST')) && isSym(tokens[k + 1], '(')) {
      // CHAR(n, … USING cs) and CAST(x AS CHAR(n) CHARACTER SET cs): the character set only labels the result
      const close = closing(tokens, k + 1);
      if (close < 0) return undefined;
      let depth = 0;
      for (let i = k + 2; i < close; i++) {
        if (isSym(tokens[i], '(')) depth++;
        else if (isSym(tokens[i], ')')) depth--;
        else if (depth !== 0) continue;
        else if (isWord(t, 'CHAR') && isWord(tokens[i], 'USING') && i + 2 === close) blank(i, i + 1);
        else if (isWord(t, 'CAST') && isWord(tokens[i], 'CHARACTER') && isWord(tokens[i + 1], 'SET') && i + 3 === close) blank(i, i + 2);
        else if (isWord(t, 'CAST') && isWord(tokens[i], 'CHARSET') && i + 2 === close) blank(i, i + 1);
      }
    } else if (isWord(t, 'ZEROFILL') && (head === 'CREATE' || head === 'ALTER')) {
      // a display attribute of integer columns
      blank(k, k);
    } else if (isWord(t, 'INTO') && (head === 'SELECT' || head === 'WITH' || isSym(tokens[0], '('))) {
      // SELECT … INTO @a, @b at the end only sets user variables (mysqlFacts adds the session effect from the tokens)
      let i = k + 1;
      while (tokens[i]?.type === 'word' && tokens[i]!.value.startsWith('@') && !tokens[i]!.value.startsWith('@@')) {
        if (!isSym(tokens[i + 1], ',')) break;
        i += 2;
      }
      if (tokens[i]?.type === 'word' && tokens[i]!.value.startsWith('@') && !tokens[i]!.value.startsWith('@@')) {
        if (depthAt(tokens, k) === 0) { blank(k, i); k = i; }
      }
    }
  }
  if (head === 'SET') setRewrites(tokens, edits);
  if (head === 'UPDATE') multiTableUpdate(tokens, edits);
  if (edits.length === 0) return undefined;
  edits.sort((a, b) => a.start - b.start || a.end - b.end);
  let out = '';
  let at = 0;
  for (const e of edits) {
    if (e.start < at) return undefined; // overlapping edits: do not guess
    out += text.slice(at, e.start) + (e.by === '' ? ' '.repeat(e.end - e.start) : e.start === e.end ? e.by : ` ${e.by} `);
    at = e.end;
  }
  out += text.slice(at);
  return { text: out, opaqueDivide, preferred };
}

function depthAt(tokens: readonly Token[], k: number): number {
  let depth = 0;
  for (let i = 0; i < k; i++) {
    if (isSym(tokens[i], '(')) depth++;
    else if (isSym(tokens[i], ')')) depth--;
  }
  return depth;
}

/** Last token of a (possibly db-qualified, quoted) name at k, or -1. */
function nameEndAt(tokens: readonly Token[], k: number): number {
  const t = tokens[k];
  if (!t || (t.type !== 'word' && t.type !== 'quoted')) return -1;
  let end = k;
  while (isSym(tokens[end + 1], '.') && (tokens[end + 2]?.type === 'word' || tokens[end + 2]?.type === 'quoted')) end += 2;
  return end;
}

/**
 * SET with several assignments: `:=` is `=`, and a `NAMES cs [COLLATE c]` or `CHARACTER SET cs` item among
 * others (Rails' mysql2 adapter on every connect) becomes an assignment of the session variable it sets, which
 * the parser reads in a list.
 */
function setRewrites(tokens: readonly Token[], edits: Edit[]): void {
  let depth = 0;
  let itemStart = 1;
  const items: Array<[number, number]> = [];
  for (let k = 1; k <= tokens.length; k++) {
    const t = tokens[k];
    if (isSym(t, '(')) depth++;
    else if (isSym(t, ')')) depth--;
    else if (depth === 0 && isSym(t, ':') && isSym(tokens[k + 1], '=') && tokens[k + 1]!.start === t!.end) {
      edits.push({ start: t!.start, end: tokens[k + 1]!.end, by: '=' });
      k++;
    }
    if (k === tokens.length || (depth === 0 && isSym(t, ','))) {
      items.push([itemStart, k - 1]);
      itemStart = k + 1;
    }
  }
  if (items.length < 2) return;
  for (const [from, to] of items) {
    let k = from;
    // SESSION / LOCAL scope words before NAMES change nothing (GLOBAL is read from the tokens as admin)
    while (isWord(tokens[k], 'SESSION') || isWord(tokens[k], 'LOCAL')) k++;
    let valueAt = -1;
    if (isWord(tokens[k], 'NAMES')) valueAt = k + 1;
    else if (isWord(tokens[k], 'CHARACTER') && isWord(tokens[k + 1], 'SET')) valueAt = k + 2;
    else if (isWord(tokens[k], 'CHARSET')) valueAt = k + 1;
    if (valueAt < 0) continue;
    const v = tokens[valueAt];
    if (!v || (v.type !== 'word' && v.type !== 'string' && v.type !== 'quoted')) continue;
    // only `cs`, `cs COLLATE c`, DEFAULT: anything else stays for the parser to refuse
    const rest = to - valueAt;
    if (!(rest === 0 || (rest === 2 && isWord(tokens[valueAt + 1], 'COLLATE')))) continue;
    edits.push({ start: tokens[k]!.start, end: tokens[to]!.end, by: `@@character_set_client = '${v.value.replace(/[^\w]/g, '')}'` });
  }
}

/** UPDATE a, b SET …: the comma join between the tables is a CROSS JOIN (same tables, same rows). */
function multiTableUpdate(tokens: readonly Token[], edits: Edit[]): void {
  const set = findTopLevelWord(tokens, 'SET');
  if (set < 0) return;
  let depth = 0;
  for (let k = 1; k < set; k++) {
    if (isSym(tokens[k], '(')) depth++;
    else if (isSym(tokens[k], ')')) depth--;
    else if (depth === 0 && isSym(tokens[k], ',')) edits.push({ start: tokens[k]!.start, end: tokens[k]!.end, by: 'CROSS JOIN' });
  }
}

