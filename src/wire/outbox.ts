// Bytes bound for one socket, collected while the relay handles one read from the other side and written once when
// it is done. The relays forward most bytes as views into the chunk they read, and a message they look at
// (CommandComplete, ReadyForQuery, an extended-protocol run, MySQL packets) usually sits right after the run forwarded
// before it: views adjacent in the same memory become one view (no copy), small other parts are copied into one
// buffer. The socket gets one write instead of a writev of several parts, which costs per part in both JavaScript
// and the kernel. Every write to the socket must go through the outbox, so nothing overtakes what it holds.
import type { Writable } from 'node:stream';

/** Below this many bytes in all, parts that are not adjacent are copied into one buffer. */
const COPY_MAX = 16 * 1024;
/**
 * Above this many parts they are copied into one buffer whatever their size: a masked result is one rewritten
 * DataRow per row, hundreds per read, and a writev of hundreds of small buffers costs far more (per part in the
 * stream machinery and the kernel) than one copy of the read's worth of bytes. Few large parts are written as
 * they are (a copy of a multi-megabyte row would cost more than the writev).
 */
const PARTS_MAX = 8;

/** One buffer with the bytes of `parts` in order, or undefined when they are better written as they are. */
export function joined(parts: readonly Buffer[]): Buffer | undefined {
  let total = 0;
  let adjacent = true;
  const first = parts[0]!;
  for (let i = 0; i < parts.length; i++) {
    const b = parts[i]!;
    total += b.length;
    if (i > 0 && adjacent) {
      const prev = parts[i - 1]!;
      adjacent = b.buffer === first.buffer && prev.byteOffset + prev.length === b.byteOffset;
    }
  }
  if (adjacent) return Buffer.from(first.buffer, first.byteOffset, total);
  if (total <= COPY_MAX || parts.length > PARTS_MAX) return Buffer.concat(parts as Buffer[], total);
  return undefined;
}

export class Outbox {
  private parts: Buffer[] | null = null;

  constructor(private readonly socket: Writable) {}

  /** Starts collecting; false when already collecting (the caller that opened it flushes). */
  open(): boolean {
    if (this.parts) return false;
    this.parts = [];
    return true;
  }

  write(b: Buffer): void {
    if (this.parts) this.parts.push(b);
    else this.socket.write(b);
  }

  /** Writes what was collected, in order, and stops collecting. */
  flush(): void {
    const out = this.parts;
    this.parts = null;
    if (!out || out.length === 0) return;
    if (out.length === 1) return void this.socket.write(out[0]!);
    const one = joined(out);
    if (one) return void this.socket.write(one);
    this.socket.cork();
    for (const b of out) this.socket.write(b);
    this.socket.uncork();
  }

  /**
   * Holds everything written to the socket from now on (corked, in order) until `until` calls its release: the
   * relays hold a result until the audit lines of its statements are written (Session.afterAudit).
   */
  hold(until: (release: () => void) => void): void {
    this.socket.cork();
    until(() => this.socket.uncork());
  }

  /** Ends the socket after what was collected. */
  end(last?: Buffer): void {
    this.flush();
    if (last) this.socket.end(last);
    else this.socket.end();
  }
}
