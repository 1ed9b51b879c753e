import { describe, expect, it } from 'vitest';
import { MessageScanner, fetchSet } from '../../../src/pg/framer.js';

function msg(code: string, body: Buffer | string): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  const out = Buffer.alloc(5 + b.length);
  out[0] = code.charCodeAt(0);
  out.writeInt32BE(4 + b.length, 1);
  b.copy(out, 5);
  return out;
}

const Q = 'Q'.charCodeAt(0);

function run(chunks: Buffer[]) {
  const forwarded: Buffer[] = [];
  const fetched: { code: number; body: string; raw: Buffer }[] = [];
  // record order: forward runs and fetched messages interleaved
  const order: Buffer[] = [];
  const s = new MessageScanner(fetchSet([Q]), 1 << 20, {
    onForward: (b) => { forwarded.push(Buffer.from(b)); order.push(Buffer.from(b)); },
    onMessage: (code, body, raw) => { fetched.push({ code, body: body.toString(), raw: Buffer.from(raw) }); order.push(Buffer.from(raw)); },
  });
  for (const c of chunks) s.push(c);
  return { forwarded, fetched, order, atBoundary: s.atBoundary };
}

describe('MessageScanner', () => {
  const stream = Buffer.concat([
    msg('P', 'stmt\0select 1\0\0\0'),
    msg('Q', 'select 42\0'),
    msg('S', ''),
    msg('d', Buffer.alloc(3000, 7)),
    msg('Q', '\0'),
    msg('c', ''),
  ]);

  it('delivers the same bytes in order whatever the split, at every single offset', () => {
    for (let i = 0; i <= stream.length; i++) {
      const r = run([stream.subarray(0, i), stream.subarray(i)]);
      expect(Buffer.concat(r.order).equals(stream)).toBe(true);
      expect(r.fetched.map((f) => f.body)).toEqual(['select 42\0', '\0']);
      expect(r.atBoundary).toBe(true);
    }
  });

  it('handles every pair of split points across three chunks and one-byte chunks', () => {
    const small = Buffer.concat([msg('B', 'xx'), msg('Q', 'a\0'), msg('E', '')]);
    for (let i = 0; i <= small.length; i++) {
      for (let j = i; j <= small.length; j++) {
        const r = run([small.subarray(0, i), small.subarray(i, j), small.subarray(j)]);
        expect(Buffer.concat(r.order).equals(small)).toBe(true);
        expect(r.fetched).toHaveLength(1);
      }
    }
    const bytes = [...stream].map((b) => Buffer.from([b]));
    const r = run(bytes);
    expect(Buffer.concat(r.order).equals(stream)).toBe(true);
  });

  it('reports not-at-boundary inside a message', () => {
    const r = run([stream.subarray(0, 3)]);
    expect(r.atBoundary).toBe(false);
  });

  it('rejects a 2 GB length and a length under 4', () => {
    const bad = Buffer.from([0x51, 0x80, 0, 0, 0]);
    expect(() => run([bad])).toThrow(/invalid message length/);
    const bad2 = Buffer.from([0x42, 0, 0, 0, 2]);
    expect(() => run([bad2])).toThrow(/invalid message length/);
  });

  it('rejects a fetched message over the limit before buffering it', () => {
    const s = new MessageScanner(fetchSet([Q]), 10, { onForward() {}, onMessage() {} });
    expect(() => s.push(msg('Q', 'select 1234567890\0'))).toThrow(/exceeds the limit/);
  });
});

describe('MessageScanner pause/resume', () => {
  it('holds the bytes after a pausing message until resume, at every split offset', () => {
    const stream = Buffer.concat([msg('T', 'desc'), msg('D', 'row1'), msg('Q', 'x\0'), msg('D', 'row2'), msg('C', 'done')]);
    for (let i = 0; i <= stream.length; i++) {
      const order: string[] = [];
      let pauseNext = true;
      const s = new MessageScanner(fetchSet([Q, 'T'.charCodeAt(0)]), 1 << 20, {
        onForward: (b) => void order.push('f:' + b.toString('latin1')),
        onMessage: (code, body) => {
          order.push('m:' + String.fromCharCode(code) + body.toString());
          if (code === 'T'.charCodeAt(0) && pauseNext) {
            pauseNext = false;
            return true;
          }
          return false;
        },
      });
      s.push(stream.subarray(0, i));
      s.push(stream.subarray(i));
      expect(order.some((o) => o.includes('row1'))).toBe(false);
      expect(s.paused || i < 9).toBe(true);
      s.resume();
      const text = order.join('|');
      expect(text.indexOf('m:Tdesc')).toBeGreaterThanOrEqual(0);
      expect(text.indexOf('row1')).toBeGreaterThan(text.indexOf('m:Tdesc'));
      expect(text.indexOf('m:Qx')).toBeGreaterThan(text.indexOf('row1'));
      expect(text.endsWith('done')).toBe(true);
    }
  });
});
