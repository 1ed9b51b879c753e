// Result-row masking for PostgreSQL: RowDescription → a per-column plan, DataRow → the same row with masked
// values. Values stay valid for their type: text-like columns get masked text, everything else NULL, so
// no client (psql, JDBC, node-pg, binary or text format) receives bytes it cannot decode.
import type { MaskKind } from '../session/verdict.js';
import { maskText } from '../session/verdict.js';
import { cursor } from './messages.js';

export interface FieldDesc {
  name: string;
  tableOid: number;
  attnum: number;
  typeOid: number;
  format: number;
}

/** Text-like types whose text and binary forms are both the UTF-8 characters. */
const TEXT_TYPES = new Set([25 /* text */, 1043 /* varchar */, 1042 /* bpchar */, 19 /* name */, 18 /* char */, 705 /* unknown */]);

export function decodeRowDescription(body: Buffer): FieldDesc[] {
  const c = cursor(body);
  const out: FieldDesc[] = [];
  for (let i = 0, n = c.i16be(); i < n; i++) {
    const name = c.cstring();
    const tableOid = c.u32be();
    const attnum = c.i16be();
    const typeOid = c.u32be();
    c.skip(6); // type size, type modifier
    out.push({ name, tableOid, attnum, typeOid, format: c.i16be() });
  }
  return out;
}

/** Per column: the mask to apply, or null to pass the value as it is. */
export type RowPlan = (MaskKind | null)[];

/**
 * @param resolve   origin of a column (table OID + attnum) → its mask, or null; undefined when unknown
 * @param derived   mask for values that do not come straight from a table column (expressions, casts,
 *                  aggregates, UNION, subqueries), set when the statement reads a masked column; null otherwise
 * @returns the plan, or null when nothing in the row needs masking
 */
export function planRow(fields: readonly FieldDesc[], resolve: (oid: number, attnum: number) => MaskKind | null | undefined, derived: MaskKind | null | ((i: number) => MaskKind | null), fallback: MaskKind): RowPlan | null {
  let any = false;
  const plan = fields.map((f, i) => {
    let m: MaskKind | null;
    if (f.tableOid === 0 || f.attnum <= 0) m = typeof derived === 'function' ? derived(i) : derived;
    else {
      const r = resolve(f.tableOid, f.attnum);
      // an origin the catalog cannot name is masked: failing open here would leak
      m = r === undefined ? fallback : r;
    }
    if (m) any = true;
    return m;
  });
  return any ? plan : null;
}

/**
 * Rewrites one DataRow body under `plan`. `types` are the column type OIDs (text-like types keep masked
 * text, others become NULL). A row with more columns than the plan is fully masked (fail closed).
 * On the streaming path of every masked result: one pass finds the masked values, one allocation holds the
 * row, and the columns that pass unmasked are copied as byte ranges.
 */
export function maskDataRow(body: Buffer, plan: RowPlan | null, types: readonly number[] | null, hashKey: Buffer, fallback: MaskKind): Buffer {
  const n = body.readInt16BE(0);
  // per masked column: its replacement text (null: SQL NULL) and its UTF-8 length; undefined: passes as it is
  const replaced: (string | null | undefined)[] = new Array(n);
  const replacedBytes: number[] = new Array(n);
  let size = 2;
  let off = 2;
  for (let i = 0; i < n; i++) {
    const len = body.readInt32BE(off);
    const start = off + 4;
    off = start + Math.max(0, len);
    const mask = plan ? (i < plan.length ? plan[i]! : fallback) : fallback;
    if (mask && len >= 0) {
      const textual = types ? TEXT_TYPES.has(types[i] ?? 0) : false;
      const masked = textual ? maskText(mask, body.toString('utf8', start, start + len), hashKey) : null;
      replaced[i] = masked;
      const bytes = masked === null ? 0 : Buffer.byteLength(masked, 'utf8');
      replacedBytes[i] = bytes;
      size += 4 + bytes;
    } else {
      size += 4 + Math.max(0, len);
    }
  }
  const msg = Buffer.allocUnsafe(5 + size);
  msg[0] = 0x44; // D
  msg.writeInt32BE(4 + size, 1);
  msg.writeInt16BE(n, 5);
  let at = 7;
  off = 2;
  for (let i = 0; i < n; i++) {
    const whole = 4 + Math.max(0, body.readInt32BE(off));
    const out = replaced[i];
    if (out === undefined) {
      at += body.copy(msg, at, off, off + whole);
    } else if (out === null) {
      msg.writeInt32BE(-1, at);
      at += 4;
    } else {
      msg.writeInt32BE(replacedBytes[i]!, at);
      at += 4;
      at += msg.write(out, at, 'utf8');
    }
    off += whole;
  }
  return msg;
}

/**
 * Error and notice texts can echo stored values (unique-violation DETAIL `Key (email)=(…)`, `Failing row
 * contains (…)`, data-exception messages quoting the input). With masks in force those parts are redacted.
 */
export function redactDetail(detail: string): string {
  if (detail.startsWith('Key (')) return detail.replace(/=\(.*\)( already exists| is not present| conflicts)?/s, (_m, tail: string | undefined) => `=([redacted])${tail ?? ''}`);
  if (detail.startsWith('Failing row contains')) return 'Failing row contains ([redacted]).';
  return detail;
}

export function redactMessage(message: string): string {
  return message.replace(/"(?:[^"\\]|\\.)*"/g, '"[redacted]"');
}
