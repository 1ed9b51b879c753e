// ErrorResponse / NoticeResponse redaction while column masks apply: every field that can echo a value
// (message, detail, context, hint, internal query) loses its quoted or embedded values; SQLSTATE, severity,
// position and object names stay, so the error remains useful.
//
// Security: errors are a side channel for masked values whatever their SQLSTATE — `email::regclass`
// (relation "…" does not exist), `current_setting(email)`, `has_table_privilege(email, …)`, `ssn::regtype`
// in CONTEXT, `xmlparse(document email)` quoting the input line in DETAIL, JSON errors in DETAIL/CONTEXT.
// Redaction therefore works on the form of the text (quotes, echoed input lines), not on a list of codes.
import { BackendCode } from './codes.js';
import { decodeFields } from './messages.js';

export const REDACTED_VALUE = '[redacted]';

/** Fields that carry human text the server may fill with data. */
const TEXT_FIELDS = new Set(['M', 'D', 'W', 'H', 'q']);

/**
 * Quoted spans, from the first quote of the field to its last (a value may itself contain quotes: `Token ""x" is
 * invalid`), or to the end of the field when a quote is never closed; and the (…) lists of key/row details.
 *
 * Security: the span is taken over the whole field, not line by line. A value can hold line breaks of its own:
 * `(E'\n' || email || E'\n')::int` fails with `invalid input syntax for type integer: "` + newline + the email +
 * newline + `"`, and per line neither the opening nor the closing line showed the email, so it went out in clear.
 * Every line of a quoted value lies between the field's first and last quote, whatever the value contains.
 */
function redactQuoted(s: string): string {
  let out = s;
  for (const q of ['"', "'"]) {
    const a = out.indexOf(q);
    if (a < 0) continue;
    const z = out.lastIndexOf(q);
    const marked = `${q}${REDACTED_VALUE}${q}`;
    out = z > a ? out.slice(0, a) + marked + out.slice(z + 1) : out.slice(0, a) + marked;
  }
  const lines = out.split('\n');
  return lines
    .join('\n')
    .replace(/\bKey \(([^)]*)\)=\(.*?\)( already exists| is not present| conflicts|\.|$)/gs, (_m, cols: string, tail: string) => `Key (${cols})=(${REDACTED_VALUE})${tail}`)
    .replace(/Failing row contains \(.*\)\.?/gs, `Failing row contains (${REDACTED_VALUE}).`);
}

/**
 * Numbers a message prints unquoted: decimal (with fraction and exponent) and the `0x..` byte dumps of encoding
 * errors. Not inside a name (`int4`, `t1`, `utf8` stay).
 *
 * Security: a server computes these from the statement's values, so a function of a masked column reads it
 * back one character at a time: `chr(ascii(substr(email, 1, 1)) + 1114112)` → "requested character too large
 * for encoding: 1114234", `make_date(ascii(…), 13, 1)` → "date field value out of range: 122-13-01",
 * `setseed(ascii(…))`, `txid_status(…)`, and `convert_from('\xc3' || convert_to(…))` → "invalid byte
 * sequence …: 0xc3 0x7a". The broker cannot tell a constant of the message from a value, so every number goes.
 */
const ECHOED_NUMBER = /(?<![\p{L}\p{N}_$])(?:0x[0-9a-f]+|\d+(?:\.\d+)?(?:e[+-]?\d+)?)(?![\p{L}_])/giu;
/** Where a CONTEXT line names a place in routine code (a line or statement number of the code, not data). */
const CODE_PLACE = /^((?:PL\/pgSQL function .* line|SQL function .* statement) )(\d+)(.*)$/;

function redactNumbers(code: string, text: string): string {
  return text
    .split('\n')
    .map((line) => {
      const place = code === 'W' ? CODE_PLACE.exec(line) : null;
      if (place) return `${place[1]}${place[2]}${place[3]!.replace(ECHOED_NUMBER, REDACTED_VALUE)}`;
      return line.replace(ECHOED_NUMBER, REDACTED_VALUE);
    })
    .join('\n');
}

/** One field's text, redacted. Lines that echo input (after `line N:`, JSON data, a caret line) are dropped. */
export function redactField(code: string, text: string): string {
  let out = redactNumbers(code, redactQuoted(text));
  // text after "…: " in a CONTEXT/DETAIL line that names input data (JSON data, line 1: <value>)
  out = out.replace(/^(JSON data, line \d+:).*$/gm, `$1 ${REDACTED_VALUE}`);
  out = out.replace(/^(line \d+:)(.*)$/gm, (_m, head: string, rest: string) => `${head}${rest.includes(REDACTED_VALUE) ? rest : ` ${REDACTED_VALUE}`}`);
  if ((code === 'W' || code === 'q') && out.includes('\n')) {
    // multi-line context quotes the offending input (XML parser output: the line and a caret under it)
    const lines = out.split('\n');
    out = lines.map((l, i) => (i === 0 || /^(SQL|PL\/pgSQL|JSON|XML|SQL function|SQL statement)\b/.test(l) ? l : REDACTED_VALUE)).join('\n');
  } else if ((code === 'D' || code === 'H') && out.includes('\n')) {
    // Security: a detail or hint names no routine frames, and the XML parser prints the offending input line there
    // unquoted: `xmlparse(document E'\nSQL ' || email)` made that line start with "SQL", which the context rule
    // above keeps. Only the first line stays.
    out = out.split('\n').map((l, i) => (i === 0 ? l : REDACTED_VALUE)).join('\n');
  }
  if (code === 'M' || code === 'D' || code === 'H') {
    // Security: whatever a message, detail or hint prints after a colon may be input the server echoes unquoted —
    // not only "invalid input syntax for type json: …": names are printed unquoted by NameListToString, so
    // `email::regoper` fails with "operator does not exist: <the email>", `(email || '.x')::regclass` with
    // "improper relation name (too many dotted names): <the email>.x", and `'a.b.' || email` cast to regclass
    // with "cross-database references are not implemented: …". The form is what counts, not the message: every
    // tail after the first ": " goes (quoted spans were redacted before, so no colon of a value is left above).
    out = out.replace(/^([^\n]*?): (?!"\[redacted\]"$|'\[redacted\]'$)(.+)$/s, `$1: ${REDACTED_VALUE}`);
  }
  return out;
}

/**
 * A CONTEXT frame of routine code (PL/pgSQL, SQL or another language's function, a DO block): the message was
 * raised by code that may format any value it holds into its text.
 */
const ROUTINE_FRAME = /^(?:PL\/\S+ function|SQL function|.* at RAISE\b)/m;
export const RAISED_IN_ROUTINE = '[redacted: raised in routine code while columns are masked]';

/** The message with every data-carrying field redacted; null when nothing changed. */
export function redactErrorMessage(code: number, body: Buffer): Buffer | null {
  if (code !== BackendCode.ErrorResponse && code !== BackendCode.NoticeResponse) return null;
  const fields = decodeFields(body);
  // Security: `RAISE NOTICE 'processing %', x` in a function the grant may call (`SELECT log_it(email) …`)
  // prints the argument unquoted, in any form the code chooses: text raised inside routine code cannot be
  // redacted by its form, so its message, detail and hint go whole (SQLSTATE and the CONTEXT frames stay)
  const routine = [...fields].some(([k, v]) => k === 'W' && ROUTINE_FRAME.test(v));
  let changed = false;
  const parts: Buffer[] = [];
  for (const [k, v] of fields) {
    const nv = routine && (k === 'M' || k === 'D' || k === 'H') ? RAISED_IN_ROUTINE : TEXT_FIELDS.has(k) ? redactField(k, v) : v;
    if (nv !== v) changed = true;
    parts.push(Buffer.from(k + nv + '\0', 'utf8'));
  }
  if (!changed) return null;
  parts.push(Buffer.from([0]));
  const payload = Buffer.concat(parts);
  const head = Buffer.allocUnsafe(5);
  head[0] = code;
  head.writeInt32BE(payload.length + 4, 1);
  return Buffer.concat([head, payload]);
}
