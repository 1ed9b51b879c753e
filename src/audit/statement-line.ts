// Fixed-shape rendering of statement events: the canonical line (chain.ts) written field by field in its known key
// order, without the generic walk (Object.keys, sort, recursion) that every other event type goes through.
//
// The output is byte for byte what canonicalLine() gives for the same line (test/unit/audit/statement-line.test.ts
// checks that on generated events), so `audit verify` and old trails are unaffected. An event with a field this
// renderer does not know, or a value of an unexpected type, is left to the generic path (undefined is returned).
//
// Written out field by field (named property reads, no keyed lookups): this runs once per client statement.

/** Statement event fields in canonical order (JavaScript's default sort of the names, as canonicalLine uses). */
const ORDER = ['action', 'approvedBy', 'database', 'duration_ms', 'error', 'grant', 'identity', 'kind', 'limit', 'outcome', 'refusedBy', 'review', 'rows', 'rules', 'session', 'target', 'text', 'textBytes', 'textSha256', 'wouldChange'];
const KNOWN = new Set(ORDER);

/** Fields of a statement event, as this renderer reads them (anything else sends the event to the generic path). */
interface StatementFields {
  action?: unknown; approvedBy?: unknown; database?: unknown; duration_ms?: unknown; error?: unknown; grant?: unknown;
  identity?: unknown; kind?: unknown; limit?: unknown; outcome?: unknown; refusedBy?: unknown; review?: unknown;
  rows?: unknown; rules?: unknown; session?: unknown; target?: unknown; text?: unknown; textBytes?: unknown;
  textSha256?: unknown; wouldChange?: unknown;
}

/** Set when a field has a type the fixed shape does not allow (the caller then takes the generic path). */
let odd = false;
let count = 0;

/** Characters JSON.stringify escapes (quote, backslash, controls, lone surrogates): their strings take the slow way. */
const ESCAPED = /["\\\u0000-\u001f\ud800-\udfff]/;

/** A JSON string literal, as JSON.stringify writes it (most audit values need no escaping). */
function quote(v: string): string {
  return ESCAPED.test(v) ? JSON.stringify(v) : `"${v}"`;
}

/**
 * Rendered `,"key":"value"` parts of the fields that repeat on every line of a session (its id, grant, identity,
 * target, database) and of the few kinds/actions/outcomes: rendered once, then looked up.
 */
const repeated = new Map<string, Map<string, string>>();

function same(key: string, v: unknown): string {
  if (typeof v !== 'string') return str(key, v);
  count++;
  let parts = repeated.get(key);
  if (parts === undefined) repeated.set(key, (parts = new Map()));
  // keyed by the value itself: the session's own string, whose hash V8 keeps after the first lookup
  let part = parts.get(v);
  if (part === undefined) {
    if (parts.size >= 4096) parts.clear();
    part = `,"${key}":${quote(v)}`;
    parts.set(v, part);
  }
  return part;
}

function str(key: string, v: unknown): string {
  if (v === undefined) return '';
  count++;
  if (typeof v !== 'string') {
    odd = true;
    return '';
  }
  return `,"${key}":${quote(v)}`;
}

function num(key: string, v: unknown): string {
  if (v === undefined) return '';
  count++;
  if (typeof v !== 'number') {
    odd = true;
    return '';
  }
  // JSON.stringify's rendering: finite numbers as JavaScript prints them, the rest as null
  return `,"${key}":${Number.isFinite(v) ? String(v) : 'null'}`;
}

function list(v: unknown): string {
  if (v === undefined) return '';
  count++;
  if (!Array.isArray(v)) {
    odd = true;
    return '';
  }
  let s = '';
  for (let i = 0; i < v.length; i++) {
    const r: unknown = v[i];
    if (typeof r !== 'string') {
      odd = true;
      return '';
    }
    s += i === 0 ? quote(r) : `,${quote(r)}`;
  }
  return `,"rules":[${s}]`;
}

/**
 * `{"seq":…,"ts":…,"type":"statement",<fields in order>,"prev":…` — the canonical line without its closing brace
 * (the writer appends `}` to hash it, or `,"hash":"…"}` to store it), or undefined for the generic path.
 */
export function statementLineHead(seq: number, ts: string, event: Record<string, unknown>, prev: string): string | undefined {
  const e = event as StatementFields;
  odd = false;
  count = 0;
  const s = `{"seq":${seq},"ts":"${ts}","type":"statement"`
    + same('action', e.action) + str('approvedBy', e.approvedBy) + same('database', e.database) + num('duration_ms', e.duration_ms)
    + str('error', e.error) + same('grant', e.grant) + same('identity', e.identity) + same('kind', e.kind) + num('limit', e.limit)
    + same('outcome', e.outcome) + str('refusedBy', e.refusedBy) + str('review', e.review) + num('rows', e.rows) + list(e.rules)
    + same('session', e.session) + same('target', e.target) + str('text', e.text) + num('textBytes', e.textBytes)
    + str('textSha256', e.textSha256) + num('wouldChange', e.wouldChange);
  if (odd) return undefined;
  // every own field but `type` must have been rendered (an unknown or misspelled one goes the generic way)
  let own = 0;
  for (const k in event) {
    if (event[k] === undefined || k === 'type') continue;
    if (!KNOWN.has(k)) return undefined;
    own++;
  }
  if (own !== count) return undefined;
  return `${s},"prev":"${prev}"`;
}

/** ISO timestamps, computed once per millisecond (many lines share one in a busy second). */
let lastMs = -1;
let lastIso = '';
export function isoNow(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}
