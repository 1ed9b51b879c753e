// Literal-insensitive "shape" of a MySQL/MariaDB text, so that COM_QUERY texts differing only in inlined literal
// values (`WHERE id=4711` / `WHERE id=17`: sysbench and ORMs without server-side prepares) share one decision.
//
// Security: a shape key must never let two texts share a decision unless the server reads them as the same
// statement with other constants. The scanner accepts only a plain subset of MySQL's lexical grammar and gives up
// (no shape) wherever the server's reading depends on something it does not follow: comments of any kind (`#`,
// `-- `, `/* */`, executable `/*! */`), backslashes (their meaning depends on NO_BACKSLASH_ESCAPES), double quotes
// (strings or identifiers depending on ANSI_QUOTES), backquoted identifiers, charset introducers and prefixed
// literals (`_utf8'…'`, `N'…'`, `X'…'`, `B'…'`), adjacent strings (concatenated by the server), user variables
// named by a quoted string, numbers glued to letters (`0x1F`, `1e5`, identifiers starting with digits), non-ASCII
// bytes and control characters. A shared decision is only used for statements whose facts cannot depend on
// literal values (see mysqlLiteralIndependent); the caller keys shapes by the reading settings in force as well.
import type { StatementFacts, StatementKind } from './facts.js';

/**
 * One placeholder per literal class: an integer may sit where only an integer parses (CHAR(3), LIMIT 10), so it
 * never shares a shape with a decimal or a string, and integers longer than 9 digits (beyond 32 bits, where a
 * reader may overflow) get no shape at all.
 */
const INT = '\u0001';
const DECIMAL = '\u0002';
const STRING = '\u0003';
/** inside a string literal: a quote, a backslash, a control character (tab, CR, LF excepted) or non-ASCII */
const STRING_STOP = /[^\x09\x0a\x0d\x20-\x26\x28-\x5b\x5d-\x7e]/g;

const isIdentStart = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
const isIdentPart = (c: number) => isIdentStart(c) || (c >= 48 && c <= 57);
const isDigit = (c: number) => c >= 48 && c <= 57;
const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13;

/** The text with every plain number and plain single-quoted string replaced by a placeholder, or undefined. */
export function mysqlShapeKey(text: string): string | undefined {
  let out = '';
  let i = 0;
  const n = text.length;
  let copyFrom = 0;
  /** the last word read started with `_` (a possible charset introducer: `_latin1 'x'` is one literal) */
  let underscoreWord = false;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (isIdentStart(c)) {
      let j = i + 1;
      while (j < n && isIdentPart(text.charCodeAt(j))) j++;
      const next = text.charCodeAt(j);
      // `$` in identifiers, and a quote glued to a word (N'', X'', B'', _charset'', typed forms), are not read here
      if (next === 36 /* $ */ || next === 39 /* ' */ || next === 34 /* " */ || next === 96 /* ` */) return undefined;
      underscoreWord = c === 95;
      i = j;
      continue;
    }
    if (isDigit(c) || (c === 46 /* . */ && isDigit(text.charCodeAt(i + 1)))) {
      // a number right after an identifier character would be part of that identifier; `t.1` and `1.` forms too
      if (i > 0 && (isIdentPart(text.charCodeAt(i - 1)) || text.charCodeAt(i - 1) === 46 || text.charCodeAt(i - 1) === 36)) return undefined;
      let j = i;
      while (j < n && isDigit(text.charCodeAt(j))) j++;
      let placeholder = c === 46 ? DECIMAL : INT;
      if (text.charCodeAt(j) === 46 && isDigit(text.charCodeAt(j + 1))) {
        placeholder = DECIMAL;
        j++;
        while (j < n && isDigit(text.charCodeAt(j))) j++;
      }
      if (placeholder === INT && j - i > 9) return undefined;
      // exponents, hex/binary forms and identifiers that start with digits are left to the real parser
      if (j < n && (isIdentPart(text.charCodeAt(j)) || text.charCodeAt(j) === 46 || text.charCodeAt(j) === 36)) return undefined;
      out += text.slice(copyFrom, i) + placeholder;
      i = j;
      copyFrom = j;
      underscoreWord = false;
      continue;
    }
    if (c === 39 /* ' */) {
      // `_latin1 'x'` (introducer, then space) and `@'name'` (a user variable) are not literals of their own
      if (underscoreWord) return undefined;
      let b = i - 1;
      while (b >= 0 && isSpace(text.charCodeAt(b))) b--;
      if (b >= 0 && text.charCodeAt(b) === 64 /* @ */) return undefined;
      // the next character that is not plain printable ASCII (a quote, a backslash, anything else), found by the
      // regex engine: a per-character loop made multi-megabyte literals slow
      let j = i + 1;
      for (;;) {
        STRING_STOP.lastIndex = j;
        const m = STRING_STOP.exec(text);
        if (!m) return undefined;
        j = m.index;
        if (text.charCodeAt(j) !== 39) return undefined;
        if (text.charCodeAt(j + 1) === 39) {
          j += 2;
          continue;
        }
        break;
      }
      // adjacent strings are one literal to the server; a string right before `@` is a user@host form
      let k = j + 1;
      while (k < n && isSpace(text.charCodeAt(k))) k++;
      const after = text.charCodeAt(k);
      if (after === 39 || after === 34 || after === 64) return undefined;
      out += text.slice(copyFrom, i) + STRING;
      i = j + 1;
      copyFrom = i;
      continue;
    }
    // double quotes, backquotes, backslashes, anything non-ASCII and control characters: no shape
    if (c === 34 || c === 96 || c === 92 || c === 36 || c > 126 || (c < 32 && c !== 9 && c !== 10 && c !== 13)) return undefined;
    // comments: `#`, `-- ` (and `--` in any case, to stay simple), `/* … */` and executable comments
    if (c === 35 /* # */ || (c === 45 /* - */ && text.charCodeAt(i + 1) === 45) || (c === 47 /* / */ && text.charCodeAt(i + 1) === 42)) return undefined;
    if (!isSpace(c)) underscoreWord = false;
    i++;
  }
  if (copyFrom === 0) return undefined; // no literal: the exact text is the key already
  return out + text.slice(copyFrom);
}

/** Kinds whose MySQL facts never depend on a literal's value (no WHERE folding, no bodies, no setting names). */
const SHAPE_KINDS = new Set<StatementKind>(['select', 'insert', 'transaction']);

/**
 * True when a decision may be shared by every text of the same shape: every statement (nested ones included) is of
 * a kind whose facts ignore literal values, changes no reading setting (`SET STATEMENT sql_mode=… FOR`), names no
 * prepared statement, thread or client file, and no fact was derived from a literal's value.
 */
export function mysqlLiteralIndependent(facts: readonly StatementFacts[]): boolean {
  return facts.length > 0 && facts.every((f) => SHAPE_KINDS.has(f.kind) && !f.literalDependent && !f.reading?.length && !f.prepared && !f.kill && !f.clientFile);
}
