// MySQL/MariaDB text as the server reads it: comments, executable comments, quoting, statement split.

// Defends against guardrail bypasses that live below the grammar: code hidden in `/*! … */` (which
// the server runs), keywords hidden in comments the server skips, statements smuggled after a `;`
// that only looks quoted, and strings whose end depends on backslash escapes or ANSI_QUOTES. The
// parser never sees the raw text: it gets each statement with comments removed, executable comments
// opened and every string re-quoted in one canonical form, so it cannot disagree with the server
// about where a string, a comment or a statement ends. Where the server's reading is not certain
// the lexer refuses the text (fail closed).
import { CompoundError, compoundAt, readCompound, routineHeader, type TokenSource } from './mysql-compound.js';
import { tokenize, type Token } from './mysql-tokens.js';

/** Which server reads the text; decides the version-gated comments. */
export interface ServerModel {
  mariadb: boolean;
  /** e.g. 101105 for 10.11.5, 80036 for 8.0.36 */
  version: number;
}

export interface LexOptions {
  server: ServerModel;
  ansiQuotes?: boolean;
  noBackslashEscapes?: boolean;
}

export interface LexedStatement {
  /** canonical text for the parser: no comments, strings as '…' with only '' and \\ \0 escapes */
  text: string;
  /** the statement as the client wrote it (trimmed), for audit */
  source: string;
}

/**
 * On failure, `rejected` says the server itself would fail there with a syntax error (an unclosed
 * string or comment) rather than the lexer being unsure; `statements` are those completed before the
 * failure, which a multi-statement server would already have run.
 */
export type LexResult =
  | { ok: true; statements: LexedStatement[] }
  | { ok: false; error: string; rejected: boolean; statements: LexedStatement[] };

/** MariaDB skips `/*!NNNNN` gates in this range: MySQL 5.7+ syntax it may not share (not `/*M!`). */
const MARIADB_SKIPS_FROM = 50700;
const MARIADB_SKIPS_TO = 99999;

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
/** `--` starts a comment only before whitespace or a control character (or the end of the text). */
const endsDashDash = (c: string | undefined): boolean => c === undefined || c <= ' ' || c === '\x7f';

class LexError extends Error {
  constructor(message: string, readonly rejected = false) {
    super(message);
  }
}

/** Splits and canonicalises `text`; never throws. */
export function lexMysql(text: string, opts: LexOptions): LexResult {
  const segments: Segment[] = [];
  const done: LexedStatement[] = [];
  try {
    lex(text, opts, segments);
  } catch (err) {
    if (!(err instanceof LexError)) throw err;
    // the statements completed before the failure (a compound one only when it closed before it)
    try {
      assemble(text, segments, false, done);
    } catch (again) {
      if (!(again instanceof LexError)) throw again;
    }
    return { ok: false, error: err.message, rejected: err.rejected, statements: done };
  }
  try {
    assemble(text, segments, true, done);
    return { ok: true, statements: done };
  } catch (err) {
    if (err instanceof LexError) return { ok: false, error: err.message, rejected: err.rejected, statements: done };
    throw err;
  }
}

/** The canonical text between two top-level `;` (or the text's ends), with the raw offsets it came from. */
interface Segment {
  text: string;
  start: number;
  end: number;
}

/** Only a text whose first words name a routine, trigger or event can hold a compound body; looked at this far. */
const HEADER_PREFIX = 512;
const ROUTINE_WORDS = /^\s*(?:CREATE|ALTER)\b[\s\S]*?\b(?:PROCEDURE|FUNCTION|TRIGGER|EVENT)\b/i;

/**
 * Segments → statements as the server ends them: a CREATE PROCEDURE/FUNCTION/TRIGGER/EVENT (or ALTER EVENT) whose
 * body is a compound statement runs over its inner `;`s to the END that closes the body (mysql-compound.ts); every
 * other statement ends at its `;`. `complete` is false when the lexer failed after the last segment: a compound
 * statement not closed by then is not a statement the server completed.
 */
function assemble(text: string, segs: Segment[], complete: boolean, out: LexedStatement[]): void {
  for (let k = 0; k < segs.length; k++) {
    const s = segs[k]!;
    const body = ROUTINE_WORDS.test(s.text.slice(0, HEADER_PREFIX)) ? compoundBody(s.text) : -1;
    if (body < 0) {
      if (s.text.trim() !== '') out.push({ text: s.text.trim(), source: text.slice(s.start, s.end).trim() });
      continue;
    }
    const last = compoundEnd(segs, k, body);
    if (last < 0) {
      if (complete) throw new LexError('compound statement without its END');
      return;
    }
    const parts: string[] = [];
    for (let j = k; j <= last; j++) parts.push(segs[j]!.text);
    out.push({ text: parts.join(';').trim(), source: text.slice(s.start, segs[last]!.end).trim() });
    k = last;
  }
}

/** Offset in the canonical segment where a compound routine body starts, or -1 (no routine, or a plain body). */
function compoundBody(segment: string): number {
  // the header is read from a prefix: a long CREATE TABLE that merely mentions `event` costs no full tokenization.
  // Tokens ending before the cut are exactly those of the whole text; a header longer than the prefix is not found,
  // and the statement is then split at every `;` as before (its pieces are refused: fail closed)
  const cut = Math.min(segment.length, HEADER_CHARS);
  const all = tokenize(segment.slice(0, cut));
  const tokens = cut < segment.length ? all.filter((t) => t.end < cut) : all;
  const h = routineHeader(tokens);
  if (!h || !compoundAt(tokens, h.body)) return -1;
  return tokens[h.body]!.start;
}

/** How much of a statement's canonical text is read for a routine header. */
const HEADER_CHARS = 65_536;

/**
 * The index of the segment in which the compound body starting at `body` in segment k closes, or -1 when the
 * segments end first. Throws LexError when the body is not read exactly (mysql-compound.ts refuses it).
 */
function compoundEnd(segs: Segment[], k: number, body: number): number {
  let seg = k;
  let tokens: Token[] = tokenize(segs[k]!.text).filter((t) => t.start >= body);
  let i = 0;
  const fill = (): boolean => {
    while (i >= tokens.length) {
      if (seg + 1 >= segs.length) return false;
      seg++;
      // between segments, the `;` that separated them
      tokens = [SEPARATOR, ...tokenize(segs[seg]!.text)];
      i = 0;
    }
    return true;
  };
  const src: TokenSource = {
    peek: (n = 0) => {
      // look-ahead stays within one segment or the separator after it (enough for labels and END IF)
      if (!fill()) return undefined;
      if (i + n < tokens.length) return tokens[i + n];
      return n === tokens.length - i && seg + 1 < segs.length ? SEPARATOR : undefined;
    },
    next: () => (fill() ? tokens[i++] : undefined),
  };
  try {
    readCompound(src);
  } catch (err) {
    if (err instanceof CompoundError) {
      if (err.incomplete) return -1;
      throw new LexError(err.message);
    }
    throw err;
  }
  // the body's END must end the statement: nothing but the separator (or the text's end) may follow
  if (i < tokens.length && tokens[i] === SEPARATOR) return seg - 1;
  if (i < tokens.length) throw new LexError(`unexpected ${tokens[i]!.raw} after a compound statement`);
  return seg;
}

const SEPARATOR: Token = { type: 'symbol', value: ';', raw: ';', start: -1, end: -1 };

/** Every `/*!NNNNN` / `/*M!NNNNNN` version written in `text` (a superset: quoted text counts too). */
export function versionGates(text: string): number[] {
  const out = new Set<number>();
  for (const m of text.matchAll(/\/\*M?!(\d{5,6})/g)) {
    out.add(Number(m[1]!.length === 6 ? m[1] : m[1]!.slice(0, 5)));
    if (m[1]!.length === 6) out.add(Number(m[1]!.slice(0, 5)));
  }
  return [...out];
}

function lex(text: string, opts: LexOptions, segments: Segment[]): void {
  if (text.includes('\0')) throw new LexError('NUL byte in statement text');
  const n = text.length;
  let out = '';
  let start = 0;
  /** inside an executable comment whose content the server runs */
  let inExec = false;
  let i = 0;

  const emit = (s: string): void => {
    // `--` without a following space is two minus signs to the server; keep the parser from
    // reading a comment there by never emitting two dashes in a row
    if (s.startsWith('-') && out.endsWith('-')) out += ' ';
    out += s;
  };
  const endStatement = (end: number): void => {
    segments.push({ text: out, start, end });
    out = '';
  };

  while (i < n) {
    const c = text[i]!;
    if (c === "'" || (c === '"' && !opts.ansiQuotes)) {
      const [value, next] = readString(text, i, c, opts.noBackslashEscapes === true);
      emit(quoteString(value));
      i = next;
    } else if (c === '`' || c === '"') {
      const [name, next] = readQuotedIdentifier(text, i, c);
      emit('`' + name.replace(/`/g, '``') + '`');
      i = next;
    } else if (c === '#' || (c === '-' && text[i + 1] === '-' && endsDashDash(text[i + 2]))) {
      // a line comment inside an executable comment could swallow its `*/`: not worth guessing
      if (inExec) throw new LexError('line comment inside an executable comment');
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? n : nl + 1;
      emit(' ');
    } else if (c === '/' && text[i + 1] === '*') {
      const gated = gatedComment(text, i, opts.server);
      if (gated === null) {
        // a plain comment does not nest: `/*` inside it is just text
        i = skipComment(text, i + 2, false);
        emit(' ');
      } else {
        if (inExec) throw new LexError('executable comment inside an executable comment');
        if (gated.run) {
          inExec = true;
          i = gated.contentStart;
        } else {
          i = skipComment(text, gated.contentStart, true);
        }
        emit(' ');
      }
    } else if (c === '*' && text[i + 1] === '/' && inExec) {
      inExec = false;
      i += 2;
      emit(' ');
    } else if (c === ';') {
      if (inExec) throw new LexError('statement separator inside an executable comment');
      endStatement(i);
      start = i + 1;
      i++;
    } else {
      // copy a run of ordinary characters at once
      let j = i + 1;
      while (j < n && !SPECIAL.has(text[j]!)) j++;
      emit(text.slice(i, j));
      i = j;
    }
  }
  if (inExec) throw new LexError('unterminated executable comment', true);
  endStatement(n);
}

const SPECIAL = new Set(["'", '"', '`', '#', '-', '/', '*', ';']);

interface Gate {
  run: boolean;
  contentStart: number;
}

/**
 * `/*!…`, `/*!NNNNN…`, `/*M!…`, `/*M!NNNNNN…` at `i`: whether the server runs the content.
 * null for a plain comment (including `/*M!` on MySQL, which reads it as a comment).
 */
function gatedComment(text: string, i: number, server: ServerModel): Gate | null {
  let p = i + 2;
  const maria = text[p] === 'M' && text[p + 1] === '!';
  if (maria) {
    if (!server.mariadb) return null;
    p += 2;
  } else if (text[p] === '!') {
    p += 1;
  } else {
    return null;
  }
  let digits = 0;
  while (digits < 6 && isDigit(text[p + digits])) digits++;
  if (digits < 5) return { run: true, contentStart: p };
  if (digits === 6 && !server.mariadb) {
    // MariaDB reads six digits as the version; MySQL's reading of a sixth digit differs by release
    throw new LexError('six-digit version comment on a MySQL server');
  }
  const version = Number(text.slice(p, p + digits));
  let run = version <= server.version;
  if (run && server.mariadb && !maria && version >= MARIADB_SKIPS_FROM && version <= MARIADB_SKIPS_TO) run = false;
  return { run, contentStart: p + digits };
}

/** Index after the `*\/` closing a comment whose body starts at `from`. */
function skipComment(text: string, from: number, nestingIsError: boolean): number {
  const end = text.indexOf('*/', from);
  // an unclosed comment is a syntax error on the server; refuse rather than guess
  if (end < 0) throw new LexError('unterminated comment', true);
  if (nestingIsError) {
    // the server allows one nesting level inside a skipped version comment; rare enough to refuse
    const nested = text.indexOf('/*', from);
    if (nested >= 0 && nested < end) throw new LexError('comment nested in a version comment');
  }
  return end + 2;
}

/** String at `i` quoted with `q`: its value and the index after it. */
function readString(text: string, i: number, q: string, noBackslash: boolean): [string, number] {
  // runs of ordinary characters are copied as slices: a character-by-character `+=` built one rope node per
  // character, which made an 8 MiB literal cost seconds of garbage collection
  let value = '';
  let j = i + 1;
  let run = j;
  for (;;) {
    if (j >= text.length) throw new LexError('unterminated string', true);
    const ch = text[j]!;
    if (ch === q) {
      value += text.slice(run, j);
      if (text[j + 1] === q) {
        value += q;
        j += 2;
        run = j;
        continue;
      }
      return [value, j + 1];
    }
    if (ch === '\\' && !noBackslash) {
      if (j + 1 >= text.length) throw new LexError('unterminated string', true);
      value += text.slice(run, j) + unescape(text[j + 1]!);
      j += 2;
      run = j;
      continue;
    }
    j++;
  }
}

/** MySQL string escapes; `\%` and `\_` keep their backslash (for LIKE), unknown ones drop it. */
function unescape(c: string): string {
  switch (c) {
    case '0': return '\0';
    case 'b': return '\b';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'Z': return '\x1a';
    case '%': return '\\%';
    case '_': return '\\_';
    default: return c;
  }
}

function quoteString(value: string): string {
  // one linear pass (no per-character concatenation): quote doubled, backslash and NUL escaped
  return `'${value.replace(/['\\\0]/g, (ch) => (ch === "'" ? "''" : ch === '\\' ? '\\\\' : '\\0'))}'`;
}

function readQuotedIdentifier(text: string, i: number, q: string): [string, number] {
  let name = '';
  let j = i + 1;
  for (;;) {
    if (j >= text.length) throw new LexError('unterminated quoted identifier', true);
    const ch = text[j]!;
    if (ch === q) {
      if (text[j + 1] === q) {
        name += q;
        j += 2;
        continue;
      }
      return [name, j + 1];
    }
    name += ch;
    j++;
  }
}
