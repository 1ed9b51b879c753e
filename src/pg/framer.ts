// Typed-message scanner: reads only headers, forwards the bytes of messages nobody inspects as they lie
// in the chunk (send), and hands whole messages of the inspected types to a callback (fetch).
import { BrokerError, ErrorCode } from '../errors.js';

/** PostgreSQL itself refuses messages over 1 GB; anything larger is corrupt or hostile. */
export const MAX_MESSAGE_BYTES = 0x3fffffff;

export interface ScanSink {
  /** Bytes of messages that are not fetched: possibly a part of one, always in stream order. */
  onForward(bytes: Buffer): void;
  /**
   * A whole message of a fetched type. `raw` is the full message (header included), `body` excludes the header.
   * Returning true pauses the scanner after this message (the consumer has async work to do, e.g. a catalog
   * lookup); bytes after it are held until resume().
   */
  onMessage(code: number, body: Buffer, raw: Buffer): void | boolean;
}

export class MessageScanner {
  private header = Buffer.alloc(5);
  private headerLen = 0;
  /** body bytes still to come for the current message; -1 at a boundary */
  private remaining = -1;
  private code = 0;
  private parts: Buffer[] | null = null;
  /** bytes in parts */
  private partsBytes = 0;
  private stopped = false;
  /** bytes received while paused, in order */
  private held: Buffer | null = null;

  /**
   * @param fetch     256 flags: which message codes are delivered whole to onMessage
   * @param maxFetch  largest body accepted for a fetched message (it is buffered)
   */
  constructor(
    private readonly fetch: Uint8Array,
    private readonly maxFetch: number,
    private readonly sink: ScanSink,
  ) {}

  /** True between messages: a place where the broker may insert messages of its own. */
  get atBoundary(): boolean {
    return this.remaining < 0 && this.headerLen === 0;
  }

  /** Stop delivering anything (the connection is ending); later chunks are dropped. */
  stop(): void {
    this.stopped = true;
    this.parts = null;
    this.partsBytes = 0;
    this.held = null;
  }

  /**
   * Bytes this scanner holds for messages not yet complete (a fetched message's parts) or not yet read (while
   * paused). The relay bounds these per session in time and across sessions in size: a client that announces a
   * large message and then stalls would otherwise pin that memory for as long as it likes.
   */
  get bufferedBytes(): number {
    return this.partsBytes + (this.held?.length ?? 0);
  }

  get paused(): boolean {
    return this.held !== null;
  }

  /** Continues with the bytes held since the pause. */
  resume(): void {
    const rest = this.held;
    this.held = null;
    if (rest && rest.length) this.push(rest);
  }

  push(chunk: Buffer): void {
    if (this.held) {
      this.held = Buffer.concat([this.held, chunk]);
      return;
    }
    let off = 0;
    let fwdStart = -1; // start of a run of pass-through bytes within this chunk
    const n = chunk.length;
    const flush = (end: number) => {
      if (fwdStart >= 0 && end > fwdStart) this.sink.onForward(chunk.subarray(fwdStart, end));
      fwdStart = -1;
    };
    while (off < n && !this.stopped) {
      if (this.remaining < 0) {
        // at a header
        if (this.headerLen === 0 && n - off >= 5) {
          this.code = chunk[off]!;
          const len = chunk.readInt32BE(off + 1);
          this.begin(len);
          if (this.parts) {
            flush(off);
            if (n - off >= 1 + len) {
              const raw = chunk.subarray(off, off + 1 + len);
              off += 1 + len;
              this.parts = null;
              this.remaining = -1;
              if (this.sink.onMessage(this.code, raw.subarray(5), raw) === true) return this.hold(chunk, off);
              continue;
            }
            this.parts.push(chunk.subarray(off, n));
            this.partsBytes += n - off;
            this.remaining -= n - off - 5;
            off = n;
            continue;
          }
          if (fwdStart < 0) fwdStart = off;
          off += 5;
        } else {
          const take = Math.min(5 - this.headerLen, n - off);
          chunk.copy(this.header, this.headerLen, off, off + take);
          this.headerLen += take;
          // the header bytes are kept aside; what came before them in this chunk goes out first
          flush(off);
          off += take;
          if (this.headerLen < 5) break;
          this.headerLen = 0;
          this.code = this.header[0]!;
          this.begin(this.header.readInt32BE(1));
          const head = Buffer.from(this.header);
          if (this.parts) {
            this.parts.push(head);
            this.partsBytes += 5;
          } else this.sink.onForward(head);
        }
        if (this.remaining === 0) {
          if (!this.parts) this.remaining = -1;
          else if (this.finishMessage()) return this.hold(chunk, off);
        }
        continue;
      }
      const take = Math.min(this.remaining, n - off);
      if (this.parts) {
        this.parts.push(chunk.subarray(off, off + take));
        this.partsBytes += take;
      } else if (fwdStart < 0) {
        fwdStart = off;
      }
      off += take;
      this.remaining -= take;
      if (this.remaining === 0) {
        if (!this.parts) this.remaining = -1;
        else if (this.finishMessage()) return this.hold(chunk, off);
      }
    }
    if (!this.stopped) flush(off);
  }

  private begin(len: number): void {
    if (len < 4 || len > MAX_MESSAGE_BYTES) {
      this.stopped = true;
      throw new BrokerError(ErrorCode.PROTOCOL_VIOLATION, `invalid message length ${len} for message type 0x${this.code.toString(16)}`);
    }
    this.remaining = len - 4;
    if (this.fetch[this.code]) {
      if (len - 4 > this.maxFetch) {
        this.stopped = true;
        throw new BrokerError(ErrorCode.MESSAGE_TOO_LARGE, `message of ${len - 4} bytes exceeds the limit of ${this.maxFetch}`);
      }
      this.parts = [];
    } else {
      this.parts = null;
    }
    this.partsBytes = 0;
  }

  private hold(chunk: Buffer, off: number): void {
    this.held = chunk.subarray(off);
  }

  private finishMessage(): boolean {
    const parts = this.parts ?? [];
    this.parts = null;
    this.partsBytes = 0;
    this.remaining = -1;
    const raw = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    // parts may hold the 5-byte header (split header) or start with it (whole header in one chunk)
    return this.sink.onMessage(this.code, raw.subarray(5), raw) === true;
  }
}

export function fetchSet(codes: number[]): Uint8Array {
  const set = new Uint8Array(256);
  for (const c of codes) set[c] = 1;
  return set;
}
