// Outbox: what the relays collect during one read leaves as one write, in order; adjacent views of the read are
// joined without a copy; a hold keeps everything after it in the socket until released.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Outbox, joined } from '../../../src/wire/outbox.js';

function sink(): { socket: Writable; writes: Buffer[] } {
  const writes: Buffer[] = [];
  const socket = new Writable({
    write(chunk: Buffer, _enc, cb) {
      writes.push(chunk);
      cb();
    },
    writev(chunks, cb) {
      for (const c of chunks) writes.push(c.chunk as Buffer);
      cb();
    },
  });
  return { socket, writes };
}

describe('joined', () => {
  it('joins adjacent views of one read without copying, copies small others and many parts, leaves a few large scattered parts', () => {
    const read = Buffer.from('ABCDEFGHIJ');
    const one = joined([read.subarray(0, 3), read.subarray(3, 7), read.subarray(7)])!;
    expect(one.toString()).toBe('ABCDEFGHIJ');
    expect(one.buffer).toBe(read.buffer);
    expect(one.byteOffset).toBe(read.byteOffset);
    // out of order or with a gap: a copy, bytes in the order given
    expect(joined([read.subarray(5, 7), read.subarray(0, 2)])!.toString()).toBe('FGAB');
    expect(joined([read.subarray(0, 2), read.subarray(3, 4)])!.toString()).toBe('ABD');
    const big = Buffer.alloc(20_000, 1);
    expect(joined([big, Buffer.alloc(10, 2)])).toBeUndefined();
    // many parts (a masked result's rewritten rows) are copied into one buffer whatever their size
    const rows = Array.from({ length: 400 }, (_, i) => Buffer.alloc(100, i % 256));
    const all = joined(rows)!;
    expect(all.length).toBe(40_000);
    expect(all.equals(Buffer.concat(rows))).toBe(true);
  });
});

describe('Outbox', () => {
  it('writes what one read produced once, in order, and only the outer opener flushes', () => {
    const { socket, writes } = sink();
    const out = new Outbox(socket);
    expect(out.open()).toBe(true);
    out.write(Buffer.from('a'));
    expect(out.open()).toBe(false);
    out.write(Buffer.from('b'));
    out.write(Buffer.from('c'));
    expect(writes).toEqual([]);
    out.flush();
    expect(Buffer.concat(writes).toString()).toBe('abc');
    expect(writes).toHaveLength(1);
    // not collecting: straight through
    out.write(Buffer.from('d'));
    expect(Buffer.concat(writes).toString()).toBe('abcd');
  });

  it('holds what follows a hold until it is released, then sends it in order', () => {
    const { socket, writes } = sink();
    const out = new Outbox(socket);
    let release: () => void = () => undefined;
    out.open();
    out.write(Buffer.from('result'));
    out.hold((r) => (release = r));
    out.flush();
    out.write(Buffer.from('+next'));
    expect(writes).toEqual([]);
    release();
    expect(Buffer.concat(writes).toString()).toBe('result+next');
  });

  it('ends the socket after what it collected', async () => {
    const { socket, writes } = sink();
    const out = new Outbox(socket);
    out.open();
    out.write(Buffer.from('x'));
    out.end(Buffer.from('y'));
    await new Promise((r) => socket.on('finish', r));
    expect(Buffer.concat(writes).toString()).toBe('xy');
  });
});
