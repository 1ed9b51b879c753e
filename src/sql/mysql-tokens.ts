// Tokens of one canonical MySQL statement (the lexer's output): words, quoted names, strings, numbers, symbols.

export type TokenType = 'word' | 'quoted' | 'string' | 'number' | 'symbol';

export interface Token {
  type: TokenType;
  /** words upper-cased; strings and quoted names decoded */
  value: string;
  /** words as written (names keep their case) */
  raw: string;
  /** offset in the canonical text */
  start: number;
  end: number;
}

/**
 * The canonical text only holds `'…'` strings (escapes `''`, `\\`, `\0`), backtick names and no
 * comments, so this tokenizer needs none of the lexer's server-dependent rules.
 */
export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c <= ' ') {
      i++;
    } else if (c === "'") {
      // runs of plain characters are copied as slices (a character-by-character `+=` made long literals slow)
      let v = '';
      let j = i + 1;
      let run = j;
      while (j < n) {
        const ch = text[j]!;
        if (ch === "'" && text[j + 1] === "'") { v += text.slice(run, j) + "'"; j += 2; run = j; continue; }
        if (ch === "'") break;
        if (ch === '\\' && j + 1 < n) { v += text.slice(run, j) + (text[j + 1] === '0' ? '\0' : text[j + 1]!); j += 2; run = j; continue; }
        j++;
      }
      v += text.slice(run, Math.min(j, n));
      out.push({ type: 'string', value: v, raw: v, start: i, end: j + 1 });
      i = j + 1;
    } else if (c === '`') {
      let v = '';
      let j = i + 1;
      let run = j;
      while (j < n) {
        if (text[j] === '`' && text[j + 1] === '`') { v += text.slice(run, j) + '`'; j += 2; run = j; continue; }
        if (text[j] === '`') break;
        j++;
      }
      v += text.slice(run, Math.min(j, n));
      out.push({ type: 'quoted', value: v, raw: v, start: i, end: j + 1 });
      i = j + 1;
    } else if (/[0-9]/.test(c)) {
      let j = i + 1;
      while (j < n && /[0-9a-zA-Z_.$]/.test(text[j]!)) j++;
      out.push({ type: 'number', value: text.slice(i, j), raw: text.slice(i, j), start: i, end: j });
      i = j;
    } else if (/[\p{L}\p{N}_$@]/u.test(c)) {
      // @var, @@scope.var and dotted names stay one word so scope prefixes are easy to see
      let j = i + 1;
      while (j < n && /[\p{L}\p{N}_$@.]/u.test(text[j]!)) j++;
      out.push({ type: 'word', value: text.slice(i, j).toUpperCase(), raw: text.slice(i, j), start: i, end: j });
      i = j;
    } else {
      out.push({ type: 'symbol', value: c, raw: c, start: i, end: i + 1 });
      i++;
    }
  }
  return out;
}

/** True when the words `seq` appear in order starting at token `at`. */
export function wordsAt(tokens: readonly Token[], at: number, ...seq: string[]): boolean {
  return seq.every((w, k) => tokens[at + k]?.type === 'word' && tokens[at + k]!.value === w);
}

/** Index of the first word `w` at parenthesis depth 0 from `from`, or -1. */
export function findTopLevelWord(tokens: readonly Token[], w: string, from = 0): number {
  let depth = 0;
  for (let k = from; k < tokens.length; k++) {
    const t = tokens[k]!;
    if (t.type === 'symbol' && t.value === '(') depth++;
    else if (t.type === 'symbol' && t.value === ')') depth--;
    else if (depth === 0 && t.type === 'word' && t.value === w) return k;
  }
  return -1;
}

/**
 * Names that may be called as functions: a word or quoted name followed by `(`, lower-case. Stored
 * and loadable functions may have a space before `(`, so `t (a)` is listed too (over-reporting only).
 */
export function calledNames(tokens: readonly Token[]): string[] {
  const out: string[] = [];
  for (let k = 0; k + 1 < tokens.length; k++) {
    const t = tokens[k]!;
    const next = tokens[k + 1]!;
    if ((t.type === 'word' || t.type === 'quoted') && next.type === 'symbol' && next.value === '(') {
      out.push(t.value.toLowerCase());
    }
  }
  return out;
}
