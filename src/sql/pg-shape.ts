// Literal-insensitive "shape" of a PostgreSQL text, so that statements differing only in inlined literal values
// (`WHERE aid = 17` / `WHERE aid = 18`, the simple protocol's usual traffic) can share one decision.
//
// Security: a shape key must never let two texts share a decision unless the server reads them as the same
// statement with other constants. The scanner therefore accepts only a plain subset of the lexical grammar
// and gives up (no shape) on anything where its reading could differ from the server's: comments, dollar
// quotes, backslashes, prefixed strings (E'', U&'', B'', X'', N''), quoted identifiers, parameters,
// non-ASCII outside string literals. And a shared decision is only used for statements whose facts cannot
// depend on literal values (see literalIndependent).
import type { StatementFacts, StatementKind } from './facts.js';

const PLACEHOLDER = '\u0001';
/** pgLiteralShape's placeholders: an integer the server's scanner reads as an int4 constant, any other number, a string */
const INT4 = '\u0001';
const NUMERIC = '\u0002';
const STRING = '\u0003';
const SMALL = '\u0004';
/** inside a string literal: the characters that end it or make the scanner give up */
const STRING_STOP = /['\\]/g;

function isIdentStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
}
function isIdentPart(c: number): boolean {
  return isIdentStart(c) || (c >= 48 && c <= 57);
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** The text with every numeric and plain string literal replaced by a placeholder, or undefined (no shape). */
export function pgShapeKey(text: string): string | undefined {
  return scan(text, false);
}

/**
 * Like pgShapeKey, but each placeholder says what class of constant it stands for: an integer that fits int4, any
 * other number, a string; integers up to 100 are kept (see numberClass). Security (mask plans shared by shape,
 * session/mask-plan-cache.ts): the grammar accepts some constants of one class only (`float(5)`, `FETCH 5`,
 * `date 'x'`) and checks a few values (`float(0)`), so texts differing there differ in whether they parse at all;
 * texts whose keys agree parse to the same tree apart from the constants' values. Also undefined for texts with NUL
 * or UTF-16 surrogates anywhere, which may reach the parser altered.
 */
export function pgLiteralShape(text: string): string | undefined {
  if (UNSAFE_CHARS.test(text)) return undefined;
  return scan(text, true);
}
const UNSAFE_CHARS = /[\u0000\ud800-\udfff]/;

/**
 * A number's placeholder: INT4 when the server's scanner reads it as an integer constant (no point, fits int4),
 * else NUMERIC. Integers up to 100 keep their value (between SMALL marks): the grammar itself checks a few small
 * integer constants (`float(p)` parses for 1 ≤ p ≤ 53 only), so texts differing in one may differ in parsing at all.
 */
function numberClass(num: string): string {
  if (num.includes('.')) return NUMERIC;
  let i = 0;
  while (i < num.length - 1 && num.charCodeAt(i) === 48) i++;
  const n = num.length - i;
  if (n <= 3 && Number(num.slice(i)) <= 100) return SMALL + num.slice(i) + SMALL;
  return n < 10 || (n === 10 && num.slice(i) <= '2147483647') ? INT4 : NUMERIC;
}

function scan(text: string, typed: boolean): string | undefined {
  let out = '';
  let i = 0;
  const n = text.length;
  let copyFrom = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (isIdentStart(c)) {
      let j = i + 1;
      while (j < n && isIdentPart(text.charCodeAt(j))) j++;
      // `$` in identifiers, and a quote right after a word (E'…', U&'…', B'…', X'…', N'…', type 'lit'),
      // are forms this scanner does not read
      const next = text.charCodeAt(j);
      if (next === 36 /* $ */ || next === 39 /* ' */ || next === 38 /* & */) return undefined;
      i = j;
      continue;
    }
    if (isDigit(c) || (c === 46 /* . */ && isDigit(text.charCodeAt(i + 1)))) {
      let j = i;
      while (j < n && isDigit(text.charCodeAt(j))) j++;
      if (text.charCodeAt(j) === 46 && isDigit(text.charCodeAt(j + 1))) {
        j++;
        while (j < n && isDigit(text.charCodeAt(j))) j++;
      }
      // exponents, hex/octal/binary forms and digits glued to a word are left to the real parser
      if (j < n && (isIdentPart(text.charCodeAt(j)) || text.charCodeAt(j) === 46 || text.charCodeAt(j) === 36)) return undefined;
      out += text.slice(copyFrom, i) + (typed ? numberClass(text.slice(i, j)) : PLACEHOLDER);
      i = j;
      copyFrom = j;
      continue;
    }
    if (c === 39 /* ' */) {
      // the next quote or backslash, found by the regex engine (a per-character loop cost ~20 ns a character,
      // which made multi-megabyte literals slow)
      let j = i + 1;
      for (;;) {
        STRING_STOP.lastIndex = j;
        const m = STRING_STOP.exec(text);
        if (!m) return undefined;
        j = m.index;
        if (text.charCodeAt(j) === 92 /* \ */) return undefined;
        if (text.charCodeAt(j + 1) === 39) {
          j += 2;
          continue;
        }
        break;
      }
      // two string literals separated only by whitespace with a newline are one literal to the server
      let k = j + 1;
      while (k < n && (text.charCodeAt(k) === 32 || text.charCodeAt(k) === 9 || text.charCodeAt(k) === 10 || text.charCodeAt(k) === 13)) k++;
      if (text.charCodeAt(k) === 39) return undefined;
      out += text.slice(copyFrom, i) + (typed ? STRING : PLACEHOLDER);
      i = j + 1;
      copyFrom = i;
      continue;
    }
    // quoted identifiers, parameters, dollar quotes, backslashes and anything non-ASCII: no shape
    if (c === 34 /* " */ || c === 36 /* $ */ || c === 92 /* \ */ || c > 126 || (c < 32 && c !== 9 && c !== 10 && c !== 13)) return undefined;
    // comments (the server skips them; nested block comments are easy to misread)
    if ((c === 45 /* - */ && text.charCodeAt(i + 1) === 45) || (c === 47 /* / */ && text.charCodeAt(i + 1) === 42)) return undefined;
    i++;
  }
  if (copyFrom === 0) return undefined; // no literal: the exact text is the key already
  return out + text.slice(copyFrom);
}

/** Kinds whose facts never depend on a literal's value (no WHERE folding, no bodies, no setting names). */
const SHAPE_KINDS = new Set<StatementKind>(['select', 'insert', 'show', 'transaction']);

/**
 * True when a decision may be shared by every text of the same shape: every statement (nested ones included)
 * is of a kind whose facts ignore literal values, and no function whose behaviour the rules read from a
 * literal argument (set_config's setting name) is called, and no fact was derived from a literal's value.
 */
export function literalIndependent(facts: readonly StatementFacts[]): boolean {
  return facts.length > 0 && facts.every((f) => SHAPE_KINDS.has(f.kind) && !f.literalDependent && !f.functions.some((fn) => fn === 'set_config' || fn.endsWith('.set_config')));
}
