// Test helper: two in-memory Duplex ends joined back to back (what one end writes, the other reads), so a relay
// can be driven without sockets.
import { Duplex } from 'node:stream';

export interface End {
  /** the Duplex handed to the code under test */
  stream: Duplex;
  /** bytes the code under test wrote to this end */
  written(): Buffer;
  /** bytes as if sent by the peer */
  send(b: Buffer): void;
  /** the peer closes */
  close(): void;
}

export function testEnd(): End {
  const out: Buffer[] = [];
  const stream = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      out.push(Buffer.from(chunk));
      cb();
    },
    final(cb) {
      cb();
    },
  });
  return {
    stream,
    written: () => Buffer.concat(out),
    send: (b) => void stream.push(b),
    close: () => void stream.push(null),
  };
}

/** Waits until `f` holds (polling microtasks and timers briefly); fails after `ms`. */
export async function until(f: () => boolean, ms = 2000): Promise<void> {
  const t0 = Date.now();
  while (!f()) {
    if (Date.now() - t0 > ms) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
