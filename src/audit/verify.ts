// verifyAuditFile / verifyAuditTrail: walk the audit hash chain (one file, or a rotated set as one chain) and report
// the first line that was edited, removed, inserted or moved.
//
// What it proves: every line is unchanged and in place relative to its predecessors. What it cannot prove
// alone: that nothing was cut from the end, or that the whole chain was not rewritten from some line on;
// compare `lastHash` with an anchor kept elsewhere (each event's hash also goes to the pino log).
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { canonicalLine, GENESIS_HASH, sha256Hex } from './chain.js';
import { trailFiles } from './trail-files.js';

export interface AuditVerifyResult {
  ok: boolean;
  /** lines read (all of them, also past a break) */
  count: number;
  /** seq found on the first broken line (the expected seq when the line has none) */
  firstBrokenSeq?: number;
  /** 1-based line number of the first broken line */
  firstBrokenLine?: number;
  reason?: string;
  /**
   * The broken line is the file's last and has no newline: a write cut short by a crash (kill -9 can stop a write
   * between two pages). Nothing after it was written and no caller was told it was recorded; the broker drops it
   * when it next opens the file. Still reported as broken: an edit can look the same.
   */
  tornTail?: boolean;
  /** hash of the last line when the chain verifies */
  lastHash?: string;
}

const CHUNK = 1024 * 1024;

/** Yields the file's lines (without '\n') reading 1 MiB at a time, so a large trail needs little memory. */
function* lines(path: string): Generator<string> {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(CHUNK);
    let rest = Buffer.alloc(0);
    for (;;) {
      const n = readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      let data = Buffer.concat([rest, buf.subarray(0, n)]);
      let nl: number;
      while ((nl = data.indexOf(0x0a)) >= 0) {
        yield data.subarray(0, nl).toString('utf8');
        data = data.subarray(nl + 1);
      }
      rest = Buffer.from(data);
    }
    if (rest.length > 0) yield rest.toString('utf8');
  } finally {
    closeSync(fd);
  }
}

function check(text: string, expectedSeq: number, prev: string): { seq?: number; hash?: string; reason?: string } {
  let line: unknown;
  try {
    line = JSON.parse(text);
  } catch {
    return { reason: text.trim() === '' ? 'empty line' : 'line is not JSON' };
  }
  if (line === null || typeof line !== 'object' || Array.isArray(line)) return { reason: 'line is not a JSON object' };
  const l = line as Record<string, unknown>;
  const seq = Number.isInteger(l.seq) ? (l.seq as number) : undefined;
  if (seq === undefined) return { reason: 'line has no integer seq' };
  if (seq !== expectedSeq) return { seq, reason: `seq ${seq} where ${expectedSeq} was expected (line removed, inserted or moved)` };
  if (typeof l.ts !== 'string' || typeof l.type !== 'string') return { seq, reason: 'line lacks ts or type' };
  if (l.prev !== prev) return { seq, reason: 'prev does not match the previous line hash' };
  if (typeof l.hash !== 'string') return { seq, reason: 'line has no hash' };
  const hash = sha256Hex(canonicalLine(l));
  if (hash !== l.hash) return { seq, reason: 'hash does not match the line content (line edited)' };
  return { seq, hash };
}

export interface AuditTrailVerifyResult extends AuditVerifyResult {
  /** the files read, oldest first (audit.jsonl.N … audit.jsonl.1, audit.jsonl) */
  files: string[];
  /** the file holding the first broken line; firstBrokenLine counts lines within it */
  firstBrokenFile?: string;
}

type Broken = Pick<AuditTrailVerifyResult, 'firstBrokenSeq' | 'firstBrokenLine' | 'reason' | 'firstBrokenFile' | 'tornTail'>;

/** Whether the file's last byte is a newline (an empty file counts as ending cleanly). */
function endsWithNewline(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(1);
    const size = fstatSync(fd).size;
    return size === 0 || (readSync(fd, buf, 0, 1, size - 1) === 1 && buf[0] === 0x0a);
  } finally {
    closeSync(fd);
  }
}

/** One chain over several files: seq and prev run on from one file into the next. */
function verifyFiles(files: string[], allowPruned = false): { count: number; prev: string; broken?: Broken } {
  let count = 0;
  let prev = GENESIS_HASH;
  let broken: Broken | undefined;
  /** seq the chain starts at: above 1 only when older files were pruned by retention (audit.keep) */
  let base = 0;
  let startPrev = GENESIS_HASH;
  let prunedProof = false;
  let lineNo = 0;
  for (const file of files) {
    lineNo = 0;
    for (const text of lines(file)) {
      count += 1;
      lineNo += 1;
      if (broken) continue;
      if (count === 1 && allowPruned) {
        // a trail whose oldest files the broker deleted starts mid-chain; it is only accepted when the chain itself
        // (an audit.pruned line, hashed like every other) says exactly where the kept part starts
        const head = firstSeqPrev(text);
        if (head && head.seq > 1) {
          base = head.seq - 1;
          prev = startPrev = head.prev;
        }
      }
      const r = check(text, base + count, prev);
      if (r.reason === undefined && base > 0 && isPrunedProof(text, base + 1, startPrev)) prunedProof = true;
      if (r.reason !== undefined) {
        broken = { firstBrokenFile: file, firstBrokenLine: lineNo, firstBrokenSeq: r.seq ?? count, reason: r.reason };
        continue;
      }
      prev = r.hash!;
    }
  }
  const last = files[files.length - 1];
  if (broken && broken.firstBrokenFile === last && broken.firstBrokenLine === lineNo && !endsWithNewline(last!)) {
    broken.tornTail = true;
    broken.reason = `${broken.reason}; the file ends inside this line (a write cut short by a crash; the broker drops it on its next start)`;
  }
  if (!broken && base > 0 && !prunedProof) {
    broken = { firstBrokenFile: files[0], firstBrokenLine: 1, firstBrokenSeq: base + 1, reason: `seq ${base + 1} where 1 was expected (older files missing and no audit.pruned line accounts for them)` };
  }
  return { count, prev, broken };
}

function firstSeqPrev(text: string): { seq: number; prev: string } | undefined {
  try {
    const l = JSON.parse(text) as { seq?: unknown; prev?: unknown };
    return Number.isInteger(l.seq) && typeof l.prev === 'string' ? { seq: l.seq as number, prev: l.prev } : undefined;
  } catch {
    return undefined;
  }
}

function isPrunedProof(text: string, seq: number, prev: string): boolean {
  try {
    const l = JSON.parse(text) as { type?: unknown; keptFromSeq?: unknown; keptFromPrev?: unknown };
    return l.type === 'audit.pruned' && l.keptFromSeq === seq && l.keptFromPrev === prev;
  } catch {
    return false;
  }
}

/** Verifies the whole file. A missing file throws (ENOENT); everything inside the file is reported, not thrown. */
export function verifyAuditFile(path: string): AuditVerifyResult {
  const { count, prev, broken } = verifyFiles([path]);
  if (broken) {
    const { firstBrokenFile: _file, ...rest } = broken;
    return { ok: false, count, ...rest };
  }
  return { ok: true, count, lastHash: count > 0 ? prev : undefined };
}

/**
 * Verifies the current file and every rotated file before it (`<path>.N` … `<path>.1`, `<path>`) as one chain.
 * A missing or removed older file shows as a seq gap at the start of the next one. Throws ENOENT when no file exists.
 */
export function verifyAuditTrail(path: string): AuditTrailVerifyResult {
  const files = trailFiles(path);
  if (files.length === 0) throw Object.assign(new Error(`audit file ${path} not found`), { code: 'ENOENT' });
  const { count, prev, broken } = verifyFiles(files, true);
  if (broken) return { ok: false, count, ...broken, files };
  return { ok: true, count, lastHash: count > 0 ? prev : undefined, files };
}
