// How a statement's text is written to the audit trail: as sent (passwords masked) or normalized (every literal a placeholder).
//
// Defends against: personal data and credentials landing in a trail that many people may read. `CREATE ROLE … PASSWORD '…'`,
// `ALTER USER … IDENTIFIED BY '…'` and `SET PASSWORD = '…'` have their string literals masked even in `full` mode,
// because no password may reach any log.
import { normalizeSync } from 'libpg-query';

export type StatementTextMode = 'full' | 'normalized';
export type TextDialect = 'postgres' | 'mysql';

export const MASKED_SECRET = "'***'";

type Token = { kind: 'literal' | 'word' | 'param' | 'semicolon' | 'other'; text: string };

const WORD_START = /[A-Za-z_\u0080-\uffff]/;
const WORD_CHAR = /[A-Za-z0-9_$\u0080-\uffff]/;
const DIGIT = /[0-9]/;
const SECRET_WORDS = new Set(['password', 'identified']);

/** End (exclusive) of a quoted run starting at `i` (the opening quote); `backslash` = backslash escapes the next char. */
function quotedEnd(s: string, i: number, quote: string, backslash: boolean): number {
  let j = i + 1;
  while (j < s.length) {
    const c = s[j];
    if (backslash && c === '\\') {
      j += 2;
      continue;
    }
    if (c === quote) {
      if (s[j + 1] === quote) {
        j += 2;
        continue;
      }
      return j + 1;
    }
    j++;
  }
  return s.length;
}

/** End of a number literal starting at `i` (digits, decimals, exponent, 0x/0b forms). */
function numberEnd(s: string, i: number): number {
  const m = /^(0[xX][0-9A-Fa-f_]+|0[bB][01_]+|(\d[\d_]*)?\.?\d[\d_]*([eE][+-]?\d+)?)/.exec(s.slice(i, i + 400));
  return i + Math.max(1, m?.[0].length ?? 1);
}

/**
 * A small lexer that only finds literals, words, parameters and statement ends; everything else is copied.
 * It errs towards calling something a literal: over-masking loses readability, under-masking leaks data.
 */
function tokenize(s: string, dialect: TextDialect): Token[] {
  const out: Token[] = [];
  const mysql = dialect === 'mysql';
  let i = 0;
  let other = '';
  const push = (t: Token) => {
    if (other) out.push({ kind: 'other', text: other });
    other = '';
    out.push(t);
  };
  while (i < s.length) {
    const c = s[i]!;
    const next = s[i + 1];
    // comments are copied; MySQL executable comments (/*! … */, /*M! … */) are code the server runs, so they are lexed
    if (c === '-' && next === '-' && (!mysql || /[\s]/.test(s[i + 2] ?? ' '))) {
      const end = s.indexOf('\n', i);
      other += s.slice(i, end < 0 ? s.length : end);
      i = end < 0 ? s.length : end;
    } else if (mysql && c === '#') {
      const end = s.indexOf('\n', i);
      other += s.slice(i, end < 0 ? s.length : end);
      i = end < 0 ? s.length : end;
    } else if (c === '/' && next === '*') {
      if (mysql && (s[i + 2] === '!' || (s[i + 2] === 'M' && s[i + 3] === '!'))) {
        const m = /^\/\*M?!\d*/.exec(s.slice(i))!;
        other += m[0];
        i += m[0].length;
        continue;
      }
      const end = s.indexOf('*/', i + 2);
      other += s.slice(i, end < 0 ? s.length : end + 2);
      i = end < 0 ? s.length : end + 2;
    } else if (c === "'") {
      const end = quotedEnd(s, i, "'", mysql);
      push({ kind: 'literal', text: s.slice(i, end) });
      i = end;
    } else if (c === '"') {
      // PostgreSQL: an identifier. MySQL: a string unless ANSI_QUOTES is set, so it is treated as one.
      const end = quotedEnd(s, i, '"', mysql);
      push({ kind: mysql ? 'literal' : 'other', text: s.slice(i, end) });
      i = end;
    } else if (c === '`' && mysql) {
      const end = quotedEnd(s, i, '`', false);
      other += s.slice(i, end);
      i = end;
    } else if (c === '$' && !mysql && next !== undefined && DIGIT.test(next)) {
      const m = /^\$\d+/.exec(s.slice(i))!;
      push({ kind: 'param', text: m[0] });
      i += m[0].length;
    } else if (c === '$' && !mysql) {
      const m = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(s.slice(i));
      if (m) {
        const close = s.indexOf(m[0], i + m[0].length);
        const end = close < 0 ? s.length : close + m[0].length;
        push({ kind: 'literal', text: s.slice(i, end) });
        i = end;
      } else {
        other += c;
        i++;
      }
    } else if (DIGIT.test(c) || (c === '.' && next !== undefined && DIGIT.test(next))) {
      const end = numberEnd(s, i);
      push({ kind: 'literal', text: s.slice(i, end) });
      i = end;
    } else if (WORD_START.test(c)) {
      let j = i + 1;
      while (j < s.length && WORD_CHAR.test(s[j]!)) j++;
      const word = s.slice(i, j);
      // prefixed strings: E'…' (backslash escapes), B'…', X'…', N'…', U&'…', MySQL _charset'…'
      const prefixed = /^([eEbBxXnN]|_[A-Za-z0-9]+)$/.test(word) && s[j] === "'";
      const unicode = /^[uU]$/.test(word) && s[j] === '&' && s[j + 1] === "'";
      if (prefixed || unicode) {
        const q = unicode ? j + 1 : j;
        const end = quotedEnd(s, q, "'", mysql || /^[eE]$/.test(word));
        push({ kind: 'literal', text: s.slice(i, end) });
        i = end;
      } else {
        push({ kind: 'word', text: word });
        i = j;
      }
    } else if (c === ';') {
      push({ kind: 'semicolon', text: c });
      i++;
    } else {
      other += c;
      i++;
    }
  }
  if (other) out.push({ kind: 'other', text: other });
  return out;
}

/** Masks every string literal of each statement that sets a password; the rest of the text is unchanged. */
export function maskPasswords(text: string, dialect: TextDialect): string {
  if (!/password|identified/i.test(text)) return text;
  const tokens = tokenize(text, dialect);
  let start = 0;
  for (let i = 0; i <= tokens.length; i++) {
    if (i < tokens.length && tokens[i]!.kind !== 'semicolon') continue;
    const stmt = tokens.slice(start, i);
    if (stmt.some((t) => t.kind === 'word' && SECRET_WORDS.has(t.text.toLowerCase()))) {
      for (const t of stmt) if (t.kind === 'literal' && !DIGIT.test(t.text[0]!) && t.text[0] !== '.') t.text = MASKED_SECRET;
    }
    start = i + 1;
  }
  return tokens.map((t) => t.text).join('');
}

/** Replaces every literal by a placeholder without a parser: `$n` (numbered after existing parameters) or MySQL `?`. */
export function replaceLiterals(text: string, dialect: TextDialect): string {
  const tokens = tokenize(text, dialect);
  let n = 0;
  for (const t of tokens) if (t.kind === 'param') n = Math.max(n, Number(t.text.slice(1)));
  for (const t of tokens) if (t.kind === 'literal') t.text = dialect === 'mysql' ? '?' : `$${++n}`;
  return tokens.map((t) => t.text).join('');
}

/** Normalized text: PostgreSQL's own normalizer (as pg_stat_statements shows it), else the lexer pass above. */
export function normalizeStatement(text: string, dialect: TextDialect): string {
  if (dialect === 'postgres') {
    try {
      return normalizeSync(text);
    } catch {
      // unparsable text, or the WASM parser not loaded: the lexer pass still removes the literals
    }
  }
  // TODO(mysql): use the MySQL lexer of src/sql/ once it exists (audit may not import sql; inject it then)
  return replaceLiterals(text, dialect);
}

/** The text the audit trail records for a client statement. */
export function auditStatementText(mode: StatementTextMode, text: string, dialect: TextDialect): string {
  return mode === 'normalized' ? normalizeStatement(text, dialect) : maskPasswords(text, dialect);
}
