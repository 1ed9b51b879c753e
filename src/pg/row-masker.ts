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

/** Per-row scratch of maskDataRow (it never yields): how each column leaves, and what replaces it. */
const AS_IS = 0;
const SQL_NULL = 1;
const TEXT = 2;
/** the email mask done on the bytes: the first byte, `***`, then the bytes from the last `@` (emailAt) on */
const EMAIL_BYTES = 3;
let how: number[] = [];
let replaced: string[] = [];
let replacedBytes: number[] = [];
let emailAt: number[] = [];

/**
 * Where the email mask of the value in body[start, end) may be done on its bytes: the offset of its last `@`, or
 * -1 when the value must go through maskText. Only for values whose output is then byte for byte what maskText
 * gives: an ASCII first character other than `@`, an `@` after it, and only ASCII from that `@` on (UTF-8 never
 * uses bytes below 0x80 inside a multi-byte character, so the last 0x40 byte is the last `@` however the rest
 * decodes, and ASCII re-encodes as itself).
 */
function emailFastAt(body: Buffer, start: number, end: number): number {
  const first = body[start]!;
  if (end - start < 2 || first >= 0x80 || first === 0x40) return -1;
  let at = end - 1;
  while (at > start && body[at] !== 0x40) {
    if (body[at]! >= 0x80) return -1;
    at--;
  }
  return at > start ? at : -1;
}

// Byte helpers of maskDataRow's per-row loop. Buffer's readInt32BE/copy cost a call each, and copy creates a typed
// array view per call (a third of the masked stream's CPU went to view creation and property lookups); the rows'
// unmasked runs are mostly a few dozen bytes, which a plain loop copies faster than a view is made.
function i32(b: Buffer, o: number): number {
  return (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!;
}
function w32(b: Buffer, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}
const LOOP_COPY_MAX = 64;
/** Copies src[start, end) to dst at `at`; returns the byte count. */
function copyRange(src: Buffer, dst: Buffer, at: number, start: number, end: number): number {
  const len = end - start;
  if (len > LOOP_COPY_MAX) return src.copy(dst, at, start, end);
  for (let i = 0; i < len; i++) dst[at + i] = src[start + i]!;
  return len;
}

/**
 * Rewrites one DataRow body under `plan`. `types` are the column type OIDs (text-like types keep masked
 * text, others become NULL). A row with more columns than the plan is fully masked (fail closed).
 * On the streaming path of every masked result: one pass finds the masked values, one allocation holds the
 * row, and each run of columns that pass unmasked is copied as one byte range; no other allocation per row
 * (an email mask of an ASCII address is cut from the bytes without decoding them).
 */
export function maskDataRow(body: Buffer, plan: RowPlan | null, types: readonly number[] | null, hashKey: Buffer, fallback: MaskKind): Buffer {
  const n = ((body[0]! << 24) | (body[1]! << 16)) >> 16;
  if (how.length < n) {
    how = new Array(n).fill(AS_IS);
    replaced = new Array(n).fill('');
    replacedBytes = new Array(n).fill(0);
    emailAt = new Array(n).fill(0);
  }
  let size = 2;
  let off = 2;
  for (let i = 0; i < n; i++) {
    const len = i32(body, off);
    const start = off + 4;
    off = start + Math.max(0, len);
    const mask = plan ? (i < plan.length ? plan[i]! : fallback) : fallback;
    if (!mask || len < 0) {
      how[i] = AS_IS;
      size += 4 + Math.max(0, len);
      continue;
    }
    const textual = types ? TEXT_TYPES.has(types[i] ?? 0) : false;
    const at = textual && mask === 'email' ? emailFastAt(body, start, off) : -1;
    if (at >= 0) {
      how[i] = EMAIL_BYTES;
      emailAt[i] = at;
      size += 4 + 4 + (off - at);
      continue;
    }
    const masked = textual ? maskText(mask, body.toString('utf8', start, off), hashKey) : null;
    if (masked === null) {
      how[i] = SQL_NULL;
      size += 4;
    } else {
      how[i] = TEXT;
      replaced[i] = masked;
      const bytes = Buffer.byteLength(masked, 'utf8');
      replacedBytes[i] = bytes;
      size += 4 + bytes;
    }
  }
  const msg = Buffer.allocUnsafe(5 + size);
  msg[0] = 0x44; // D
  w32(msg, 1, 4 + size);
  msg[5] = (n >>> 8) & 0xff;
  msg[6] = n & 0xff;
  let at = 7;
  off = 2;
  // start of the run of unmasked columns not copied yet (their bytes are contiguous in body and in msg)
  let run = off;
  for (let i = 0; i < n; i++) {
    const whole = 4 + Math.max(0, i32(body, off));
    const h = how[i];
    if (h !== AS_IS) {
      if (off > run) at += copyRange(body, msg, at, run, off);
      if (h === SQL_NULL) {
        w32(msg, at, -1);
        at += 4;
      } else if (h === TEXT) {
        w32(msg, at, replacedBytes[i]!);
        at += 4;
        at += msg.write(replaced[i]!, at, 'utf8');
        replaced[i] = '';
      } else {
        const end = off + whole;
        const tail = end - emailAt[i]!;
        w32(msg, at, 4 + tail);
        msg[at + 4] = body[off + 4]!;
        msg[at + 5] = 0x2a; // ***
        msg[at + 6] = 0x2a;
        msg[at + 7] = 0x2a;
        at += 8;
        at += copyRange(body, msg, at, emailAt[i]!, end);
      }
      run = off + whole;
    }
    off += whole;
  }
  if (off > run) copyRange(body, msg, at, run, off);
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
