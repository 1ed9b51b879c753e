// AuditFile: the AuditSink that appends hash-chained JSON lines (docs/audit.md), rotates by size and mirrors each event to pino.
//
// Defends against: silent edits of the trail (each line hashes its content and the previous line's hash),
// losing an event on a crash (written before any client can see the outcome; rotation renames only closed,
// complete files and a restart continues the chain from the newest rotated file), and secrets in the trail
// (fields named like secrets are dropped, whatever the caller passes; password literals in SQL are masked).
import { chmodSync, closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { silentLogger, type Logger } from '../log.js';
import { canonicalLine, GENESIS_HASH, RESERVED_FIELDS, sha256Hex } from './chain.js';
import type { AuditEvent, AuditSink } from './events.js';
import { auditStatementText, type StatementTextMode } from './statement-text.js';
import { isoNow, statementLineHead } from './statement-line.js';
import { rotatedIndexes, rotatedPath } from './trail-files.js';

export interface AuditLine {
  seq: number;
  ts: string;
  type: string;
  prev: string;
  hash: string;
  [k: string]: unknown;
}

export interface AuditFileOptions {
  /**
   * fsync after every line. Not needed for a process crash (kill -9): the kernel already holds the
   * bytes when writeSync returns. Needed only to survive power loss or a kernel crash; costs a disk flush per event.
   */
  fsync?: boolean;
  /**
   * Rotate before a line would make the file larger than this: audit.jsonl becomes audit.jsonl.1 (older ones
   * shift up) and the chain continues in a new audit.jsonl. Absent or 0: never rotate.
   */
  maxBytes?: number;
  /**
   * Rotated files kept (audit.jsonl.1 … .keep); older ones are deleted at rotation and an `audit.pruned` line says
   * where the kept chain starts, so `audit verify` still proves the rest. Absent or 0: keep all.
   */
  keep?: number;
  /**
   * Statement texts longer than this many bytes are recorded cut to it, with `textBytes` (the full length) and
   * `textSha256` (of the full text) so a captured statement can still be matched. Absent or 0: never cut.
   */
  maxStatementBytes?: number;
  /** full: statement texts as sent (password literals masked); normalized: literals replaced by placeholders. */
  statementText?: StatementTextMode;
}

/**
 * Lines held in memory while the file cannot be written (disk full, I/O error). Beyond this, refusal lines are
 * dropped (counted and logged) rather than growing the broker: statements are refused meanwhile (see writable).
 */
const MAX_PENDING_BYTES = 16 << 20;
/** lines joined into one write by a flush (a turn that ended thousands of sessions writes in a few calls) */
const FLUSH_LINES_MAX = 512;

const SECRET_KEY = /^(password|passwd|token|secret|authorization|verifiers?)$/i;
const TAIL_CHUNK = 64 * 1024;

/** Owner-only modes on an audit file: it holds statement texts (possibly personal data). */
function tighten(file: string, logger: Logger): void {
  try {
    const mode = fstatMode(file);
    if (mode !== undefined && (mode & 0o077) !== 0) {
      logger.warn({ path: file, mode: (mode & 0o777).toString(8) }, 'audit file was readable by others; setting mode 0600');
      chmodSync(file, 0o600);
    }
  } catch {
    // a file that vanished meanwhile has no mode to fix
  }
}

function fstatMode(file: string): number | undefined {
  const fd = openSync(file, 'r');
  try {
    const st = fstatSync(fd);
    return st.isFile() ? st.mode : undefined; // devices and pipes are not ours to chmod
  } finally {
    closeSync(fd);
  }
}

/** Copies an event into plain JSON data without secret-named fields at any depth. */
function scrub(value: unknown, depth = 0): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (value === null || typeof value !== 'object') return typeof value === 'function' ? undefined : value;
  if (depth > 16) return '[too deep]';
  if (Array.isArray(value)) return value.map((x) => scrub(x, depth + 1) ?? null);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (SECRET_KEY.test(k)) continue;
    const s = scrub(v, depth + 1);
    if (s !== undefined) out[k] = s;
  }
  return out;
}

/** Absolute position of the last '\n' before `before` (exclusive), or -1. */
function lastNewline(fd: number, before: number): number {
  const buf = Buffer.alloc(TAIL_CHUNK);
  let pos = before;
  while (pos > 0) {
    const len = Math.min(TAIL_CHUNK, pos);
    pos -= len;
    readSync(fd, buf, 0, len, pos);
    const i = buf.subarray(0, len).lastIndexOf(0x0a);
    if (i >= 0) return pos + i;
  }
  return -1;
}

/**
 * The first line of a file, read chunk by chunk: a statement line may be as long as audit.maxStatementBytes (1 MiB
 * by default), far beyond one chunk (reading only the first chunk made retention give up, so the trail outgrew
 * its disk budget when lines were long).
 */
function readFirstLine(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const parts: Buffer[] = [];
    const buf = Buffer.alloc(TAIL_CHUNK);
    for (let pos = 0; ; ) {
      const n = readSync(fd, buf, 0, TAIL_CHUNK, pos);
      if (n === 0) break;
      const nl = buf.subarray(0, n).indexOf(0x0a);
      parts.push(Buffer.from(buf.subarray(0, nl >= 0 ? nl : n)));
      if (nl >= 0) break;
      pos += n;
    }
    return Buffer.concat(parts).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** Parses a chain line's seq and hash, or throws naming the file. */
function chainPosition(tail: string, path: string): { seq: number; hash: string } {
  let parsed: Partial<AuditLine>;
  try {
    parsed = JSON.parse(tail) as Partial<AuditLine>;
  } catch {
    throw new Error(`audit file ${path}: last line is not JSON; run \`dbwarden audit verify ${path}\``);
  }
  if (!Number.isInteger(parsed.seq) || typeof parsed.hash !== 'string' || !/^[0-9a-f]{64}$/.test(parsed.hash)) {
    throw new Error(`audit file ${path}: last line has no seq/hash; run \`dbwarden audit verify ${path}\``);
  }
  return { seq: parsed.seq!, hash: parsed.hash };
}

/** Reads the last complete line; truncates a torn tail left by a crash in the middle of a write. */
function readTail(fd: number, path: string, logger: Logger): string | undefined {
  const size = fstatSync(fd).size;
  const lastNl = lastNewline(fd, size);
  if (lastNl !== size - 1) {
    // A torn tail is a write whose record() never returned, so no caller was promised it: dropping it
    // keeps the chain verifiable and loses nothing that was acknowledged.
    logger.warn({ path, droppedBytes: size - lastNl - 1 }, 'audit file ends in a torn line (crash during a write); truncating it');
    ftruncateSync(fd, lastNl + 1);
  }
  if (lastNl < 0) return undefined;
  const start = lastNewline(fd, lastNl) + 1;
  const line = Buffer.alloc(lastNl - start);
  readSync(fd, line, 0, line.length, start);
  return line.toString('utf8');
}

export class AuditFile implements AuditSink {
  private fd: number | undefined;
  /** chained lines not yet written (see record) */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** bytes of pending[0] already written (a write that failed half-way resumes here, keeping the line whole) */
  private headWritten = 0;
  private flushing = false;
  /** the last write error while the file cannot be written; null when healthy */
  private failure: Error | null = null;
  private dropped = 0;

  private constructor(
    readonly path: string,
    fd: number,
    private seq: number,
    private prev: string,
    private readonly logger: Logger,
    private readonly options: AuditFileOptions,
    private size: number,
  ) {
    this.fd = fd;
    this.debugLog = logger.isLevelEnabled('debug');
  }

  /** forwarded statements' lines also go to the log (the level is fixed for the process's life) */
  private readonly debugLog: boolean;

  /** Opens (or creates) the file and continues its chain. Throws if the last line is not a chain line. */
  static open(path: string, logger: Logger = silentLogger, options: AuditFileOptions = {}): AuditFile {
    // 0700/0600: the trail holds statement texts (possibly personal data) and must not be world-readable.
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const rw = openSync(path, 'a+', 0o600);
    // a file created earlier (or by hand) with looser modes is tightened, rotated ones too
    for (const f of [path, ...rotatedIndexes(path).map((n) => rotatedPath(path, n))]) tighten(f, logger);
    let seq = 0;
    let prev = GENESIS_HASH;
    try {
      const tail = readTail(rw, path, logger);
      if (tail !== undefined) ({ seq, hash: prev } = chainPosition(tail, path));
      else ({ seq, hash: prev } = AuditFile.rotatedTail(path, logger) ?? { seq, hash: prev });
    } finally {
      closeSync(rw);
    }
    // 'a': every write lands at the current end even if something else appended meanwhile.
    const fd = openSync(path, 'a', 0o600);
    return new AuditFile(path, fd, seq, prev, logger, options, fstatSync(fd).size);
  }

  /**
   * Where the chain stands in the newest rotated file. Without this, a current file that is empty (just rotated,
   * or a crash between rename and create) would restart the chain at seq 1 and break verification of the set.
   */
  private static rotatedTail(path: string, logger: Logger): { seq: number; hash: string } | undefined {
    const newest = rotatedIndexes(path).at(-1);
    if (newest === undefined) return undefined;
    const file = rotatedPath(path, newest);
    const fd = openSync(file, 'r+');
    try {
      const tail = readTail(fd, file, logger);
      return tail === undefined ? undefined : chainPosition(tail, file);
    } finally {
      closeSync(fd);
    }
  }

  /** The sequence number of the last line written (0 for an empty file). */
  get lastSeq(): number {
    return this.seq;
  }

  /** The hash of the last line written: worth keeping elsewhere as an anchor for the chain. */
  get lastHash(): string {
    return this.prev;
  }

  /**
   * False while the trail cannot be written. Sessions refuse statements meanwhile: a statement that runs must
   * leave an audit line (defends against filling the audit disk, or breaking its storage, to act unaudited).
   * Each call retries the pending lines, so the broker recovers by itself once the disk does.
   */
  writable(): boolean {
    if (this.failure) this.flush();
    return this.failure === null;
  }

  statementText(text: string, dialect: 'postgres' | 'mysql'): string {
    return auditStatementText(this.options.statementText ?? 'full', text, dialect);
  }

  /**
   * Appends one line. Forwarded statements (allow/warn/mask) are completed when their result ends and written in
   * one batch: by flush(), which the protocol module calls before it lets the result reach the client (the client
   * socket is corked meanwhile), or at the end of the current event-loop turn at the latest, so no event whose
   * result a client saw can be lost. Everything else (refusals answered at once, grant and admin
   * events whose API answer may go out in this turn) is written before record() returns. Returns the line; for a
   * forwarded statement only its seq, ts, type, prev and hash (all its fields when debug logging is on).
   */
  record(event: AuditEvent): AuditLine {
    if (this.fd === undefined && !this.failure) throw new Error(`audit file ${this.path} is closed; event ${event.type} not recorded`);
    // statement events have a fixed shape (their text is masked by statementText); others are scrubbed of secret-named fields
    const fields = (event.type === 'statement' ? this.bounded(event) : scrub(event)) as Record<string, unknown>;
    const ts = isoNow();
    // statement events (one per client statement: the hot path) are rendered by their fixed shape, the same bytes
    const head = event.type === 'statement' ? statementLineHead(this.seq + 1, ts, fields, this.prev) : undefined;
    let line: Record<string, unknown> | undefined;
    let hash: string;
    let bytes: Buffer;
    if (head !== undefined) {
      hash = sha256Hex(`${head}}`);
      bytes = Buffer.from(`${head},"hash":"${hash}"}\n`, 'utf8');
    } else {
      line = { seq: this.seq + 1, ts, type: event.type };
      for (const [k, v] of Object.entries(fields)) if (!RESERVED_FIELDS.has(k)) line[k] = v;
      line.prev = this.prev;
      const canonical = canonicalLine(line);
      hash = sha256Hex(canonical);
      bytes = Buffer.from(`${canonical.slice(0, -1)},"hash":"${hash}"}\n`, 'utf8');
    }
    if (this.failure && this.pendingBytes + bytes.length > MAX_PENDING_BYTES) {
      // not chained: the chain stays whole, the gap is counted and logged (only while the disk is failing)
      this.dropped++;
      if (this.dropped === 1 || this.dropped % 1000 === 0) this.logger.error({ path: this.path, dropped: this.dropped }, 'audit file unwritable and its buffer is full; dropping events');
      return line ? ({ ...line, hash } as AuditLine) : ({ seq: this.seq + 1, ts, ...fields, prev: this.prev, hash } as AuditLine);
    }
    const prev = this.prev;
    this.seq += 1;
    this.prev = hash;
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    const deferrable = event.type === 'statement' && (event.action === 'allow' || event.action === 'warn' || event.action === 'mask');
    // A session's end is written with the rest of the turn's lines too: nothing waits on it, and a revoke that
    // ends thousands of sessions in a few turns then costs a write per turn instead of one per session.
    const batched = deferrable || event.type === 'session.ended';
    if (batched && !this.options.fsync) {
      if (!this.turnEnd) {
        this.turnEnd = true;
        setImmediate(() => this.endTurn());
      }
    } else {
      this.flush();
      // an API answer must not go out for an event that is not on disk; statement refusals stay pending instead
      // (the session answers them as audit-unavailable refusals, see writable())
      if (this.failure && event.type !== 'statement') {
        throw new Error(`audit file ${this.path} cannot be written (${this.failure.message}); event ${event.type} is held until it can`);
      }
    }
    // the log carries every event too, but forwarded statements only at debug (one line each would swamp it). Their
    // line is returned without its fields unless it is logged: no caller reads them, and a copy of every field per
    // statement is work on the hot path.
    if (deferrable && !this.debugLog) return { seq: this.seq, ts, type: event.type, prev, hash };
    // statement lines (rendered by their fixed shape) become an object once, here
    const written = (line ? { ...line, hash } : { seq: this.seq, ts, ...fields, prev, hash }) as AuditLine;
    if (!deferrable) this.logger.info({ audit: written }, event.type);
    else this.logger.debug({ audit: written }, event.type);
    return written;
  }

  /**
   * A statement event whose text is within maxStatementBytes, else a copy with the text cut and its length and
   * hash added. Defends the audit disk and the broker's CPU against clients sending many multi-megabyte texts.
   */
  private bounded(event: Extract<AuditEvent, { type: 'statement' }>): AuditEvent {
    const max = this.options.maxStatementBytes ?? 0;
    if (max <= 0 || event.text.length * 3 <= max) return event;
    const full = Buffer.from(event.text, 'utf8');
    if (full.length <= max) return event;
    // cut on a character boundary: drop UTF-8 continuation bytes at the cut
    let end = max;
    while (end > 0 && (full[end]! & 0xc0) === 0x80) end--;
    return { ...event, text: full.toString('utf8', 0, end), textBytes: full.length, textSha256: sha256Hex(full) } as AuditEvent;
  }

  /** Drops from the queue what a write put in the file: whole lines, then the written head of the next one. */
  private consumeWritten(bytes: number): void {
    let rest = this.headWritten + bytes;
    while (this.pending.length && rest >= this.pending[0]!.length) {
      const len = this.pending.shift()!.length;
      this.pendingBytes -= len;
      rest -= len;
    }
    this.headWritten = rest;
  }

  /** A batched write is due at the end of this event-loop turn (endTurn is queued). */
  private turnEnd = false;
  /** What waits for that write (whenWritten): sessions' client output held until its statements' lines are written. */
  private waiters: Array<() => void> = [];

  /**
   * Runs `then` once every line recorded so far is written. While a batched write is due at the end of this turn,
   * `then` waits for it: every session whose results complete in one turn shares one write, instead of one each.
   * Otherwise the lines are written now and `then` runs at once. `then` runs even when the write fails (the lines
   * stay pending and sessions refuse new statements, see writable()), like a flush() that failed.
   */
  whenWritten(then: () => void): void {
    if (this.turnEnd) {
      this.waiters.push(then);
      return;
    }
    this.flush();
    then();
  }

  private endTurn(): void {
    this.turnEnd = false;
    try {
      this.flush();
    } finally {
      this.releaseWaiters();
    }
  }

  private releaseWaiters(): void {
    while (this.waiters.length) {
      const ws = this.waiters;
      this.waiters = [];
      for (const w of ws) {
        try {
          w();
        } catch (e) {
          this.logger.error({ err: (e as Error).message }, 'audit: a caller waiting for a write failed');
        }
      }
    }
  }

  /** Writes every pending line now (rotating first when the file would grow past maxBytes). */
  flush(): void {
    // re-entered from prune() during a rotation: the outer loop writes what was just added
    if (!this.pending.length || this.flushing) return;
    const max = this.options.maxBytes ?? 0;
    this.flushing = true;
    try {
      if (this.fd === undefined) this.reopen();
      while (this.pending.length) {
        const first = this.pending[0]!;
        if (this.headWritten === 0 && max > 0 && this.size > 0 && this.size + first.length > max) this.rotate();
        // the lines that fit in the file before the next rotation leave in one write
        let count = 1;
        let total = first.length - this.headWritten;
        while (count < this.pending.length && count < FLUSH_LINES_MAX) {
          const next = this.pending[count]!.length;
          if (max > 0 && this.size + total + next > max) break;
          total += next;
          count++;
        }
        const chunk = count === 1 ? first.subarray(this.headWritten) : Buffer.concat([first.subarray(this.headWritten), ...this.pending.slice(1, count)], total);
        let written = 0;
        try {
          while (written < chunk.length) {
            const n = writeSync(this.fd!, chunk, written, chunk.length - written);
            written += n;
            this.size += n;
          }
        } finally {
          // whole lines written leave the queue; a line cut by a failing write is resumed where it stopped
          this.consumeWritten(written);
        }
      }
      if (this.options.fsync) fsyncSync(this.fd!);
      if (this.failure) {
        this.logger.warn({ path: this.path, dropped: this.dropped }, 'audit file writable again; statements are accepted again');
        this.failure = null;
      }
    } catch (e) {
      // nothing is lost that was chained: the lines stay pending and every later flush retries them in order
      if (!this.failure) this.logger.error({ path: this.path, err: (e as Error).message }, 'audit file cannot be written; refusing statements until it can');
      this.failure = e as Error;
    } finally {
      this.flushing = false;
    }
  }

  private reopen(): void {
    this.fd = openSync(this.path, 'a', 0o600);
    this.size = fstatSync(this.fd).size;
  }

  /**
   * audit.jsonl.N → N+1 (oldest first, so nothing is overwritten), audit.jsonl → .1, new audit.jsonl. Only complete,
   * closed files move; a crash anywhere in between leaves a set that verifies and that open() continues.
   */
  private rotate(): void {
    const fd = this.fd!;
    // only regular files rotate (a trail pointed at a device or pipe is appended to, never renamed)
    if (!fstatSync(fd).isFile()) return;
    this.fd = undefined;
    fsyncSync(fd);
    closeSync(fd);
    try {
      for (const n of rotatedIndexes(this.path)) renameSync(rotatedPath(this.path, n), rotatedPath(this.path, n + 1));
      if (existsSync(this.path)) renameSync(this.path, rotatedPath(this.path, 1));
    } finally {
      // a failed rename must not stop auditing: keep appending to whatever file is current
      this.fd = openSync(this.path, 'a', 0o600);
      this.size = fstatSync(this.fd).size;
    }
    this.logger.info({ path: this.path, seq: this.seq + 1 }, 'audit file rotated');
    this.prune();
  }

  /**
   * Deletes rotated files beyond `keep` (disk budget: a chatty client cannot fill the disk) and chains an
   * audit.pruned line naming where the kept trail starts, so verification of what is kept still holds.
   */
  private prune(): void {
    const keep = this.options.keep ?? 0;
    if (keep <= 0) return;
    const indexes = rotatedIndexes(this.path); // oldest first
    const doomed = indexes.filter((n) => n > keep);
    if (!doomed.length) return;
    const oldestKept = rotatedPath(this.path, Math.max(...indexes.filter((n) => n <= keep)));
    let head: { seq: number; prev: string } | undefined;
    try {
      const first = JSON.parse(readFirstLine(oldestKept)) as { seq: number; prev: string };
      head = { seq: first.seq, prev: first.prev };
    } catch (e) {
      this.logger.warn({ path: oldestKept, err: (e as Error).message }, 'audit retention: cannot read the oldest kept file; nothing pruned');
      return;
    }
    const removed: string[] = [];
    for (const n of doomed) {
      try {
        unlinkSync(rotatedPath(this.path, n));
        removed.push(rotatedPath(this.path, n));
      } catch (e) {
        this.logger.warn({ path: rotatedPath(this.path, n), err: (e as Error).message }, 'audit retention: cannot delete');
      }
    }
    if (removed.length) {
      this.record({ type: 'audit.pruned', files: removed, keptFromSeq: head.seq, keptFromPrev: head.prev });
    }
  }

  async close(): Promise<void> {
    if (this.fd === undefined) return this.releaseWaiters();
    this.flush();
    this.releaseWaiters();
    const fd = this.fd;
    this.fd = undefined;
    if (this.options.fsync) fsyncSync(fd);
    closeSync(fd);
  }
}
