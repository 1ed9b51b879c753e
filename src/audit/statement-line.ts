// Fixed-shape rendering of statement events: the canonical line (chain.ts) written field by field in its known key
// order, without the generic walk (Object.keys, sort, recursion) that every other event type goes through.
//
// The output is byte for byte what canonicalLine() gives for the same line (test/unit/audit/statement-line.test.ts
// checks that on generated events), so `audit verify` and old trails are unaffected. An event with a field this
// renderer does not know, or a value of an unexpected type, is left to the generic path (undefined is returned).

/** Statement event fields in canonical order (JavaScript's default sort of the names, as canonicalLine uses). */
const STRING_FIELDS = new Set(['action', 'approvedBy', 'database', 'error', 'grant', 'identity', 'kind', 'outcome', 'refusedBy', 'review', 'session', 'target', 'text', 'textSha256']);
const NUMBER_FIELDS = new Set(['duration_ms', 'limit', 'rows', 'textBytes', 'wouldChange']);
const ORDER = [...STRING_FIELDS, ...NUMBER_FIELDS, 'rules'].sort();
const KNOWN = new Set(ORDER);

/**
 * `{"seq":…,"ts":…,"type":"statement",<fields in order>,"prev":…` — the canonical line without its closing brace
 * (the writer appends `}` to hash it, or `,"hash":"…"}` to store it), or undefined for the generic path.
 */
export function statementLineHead(seq: number, ts: string, event: Record<string, unknown>, prev: string): string | undefined {
  let known = 0;
  let s = `{"seq":${seq},"ts":"${ts}","type":"statement"`;
  for (const k of ORDER) {
    const v = event[k];
    if (v === undefined) continue;
    known++;
    if (typeof v === 'string') {
      if (!STRING_FIELDS.has(k)) return undefined;
      s += `,"${k}":${JSON.stringify(v)}`;
    } else if (typeof v === 'number') {
      if (!NUMBER_FIELDS.has(k)) return undefined;
      s += `,"${k}":${JSON.stringify(v)}`;
    } else if (k === 'rules' && Array.isArray(v)) {
      let list = '';
      for (let i = 0; i < v.length; i++) {
        const r: unknown = v[i];
        if (typeof r !== 'string') return undefined;
        list += i === 0 ? JSON.stringify(r) : `,${JSON.stringify(r)}`;
      }
      s += `,"rules":[${list}]`;
    } else {
      return undefined;
    }
  }
  // every own field but `type` must have been rendered (an unknown or misspelled one goes the generic way)
  let own = 0;
  for (const k in event) {
    if (event[k] === undefined || k === 'type') continue;
    if (!KNOWN.has(k)) return undefined;
    own++;
  }
  if (own !== known) return undefined;
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
