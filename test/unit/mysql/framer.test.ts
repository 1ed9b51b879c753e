// The streaming packet scanner: the same bytes split at every offset give the same packets and the same
// forwarded bytes; 16 MiB continuations are joined; out-of-order continuations and oversized fetches fail.
import { describe, expect, it } from 'vitest';
import { MAX_PACKET_PAYLOAD } from '../../../src/mysql/codes.js';
import { PacketScanner, type Disposition } from '../../../src/mysql/framer.js';
import { encodePacket } from '../../../src/mysql/packets.js';

function run(chunks: Buffer[], decide: (first: number) => Disposition, maxFetch = 1 << 26) {
  const forwarded: Buffer[] = [];
  const fetched: { payload: string; raw: string; seq: number }[] = [];
  const starts: [number, number, number][] = [];
  const s = new PacketScanner(maxFetch, {
    onStart: (seq, len, first) => {
      starts.push([seq, len, first]);
      return decide(first);
    },
    onForward: (b) => forwarded.push(Buffer.from(b)),
    onPacket: (payload, raw, seq) => fetched.push({ payload: payload.toString('hex'), raw: raw.toString('hex'), seq }),
  });
  for (const c of chunks) s.push(c);
  return { forwarded: Buffer.concat(forwarded).toString('hex'), fetched, starts, atBoundary: s.atBoundary };
}

// three packets: a fetched COM_QUERY, a sent COM_STMT_EXECUTE, a skipped unknown command, an empty packet
const stream = Buffer.concat([
  encodePacket(0, Buffer.from('\x03select 1', 'latin1')),
  encodePacket(0, Buffer.from('\x17\x01\x00\x00\x00\x00\x01\x00\x00\x00', 'latin1')),
  encodePacket(0, Buffer.from('\x12binlog', 'latin1')),
  encodePacket(0, Buffer.alloc(0)),
]);
const decide = (first: number): Disposition => (first === 0x03 ? 'fetch' : first === 0x12 ? 'skip' : 'send');

describe('PacketScanner', () => {
  const whole = run([stream], decide);

  it('fetches, sends and skips by the first payload byte', () => {
    expect(whole.fetched).toEqual([{ payload: Buffer.from('\x03select 1', 'latin1').toString('hex'), raw: encodePacket(0, Buffer.from('\x03select 1', 'latin1')).toString('hex'), seq: 0 }]);
    expect(whole.forwarded).toBe(encodePacket(0, Buffer.from('\x17\x01\x00\x00\x00\x00\x01\x00\x00\x00', 'latin1')).toString('hex') + '00000000');
    expect(whole.starts.map((s) => s[2])).toEqual([0x03, 0x17, 0x12, -1]);
    expect(whole.atBoundary).toBe(true);
  });

  it('gives the same result for the stream split at every offset, and byte by byte', () => {
    for (let i = 1; i < stream.length; i++) {
      expect(run([stream.subarray(0, i), stream.subarray(i)], decide)).toEqual(whole);
    }
    expect(run([...stream].map((b) => Buffer.from([b])), decide)).toEqual(whole);
  });

  it('is not at a boundary inside a packet', () => {
    const s = new PacketScanner(100, { onStart: () => 'send', onForward: () => undefined, onPacket: () => undefined });
    s.push(stream.subarray(0, 3));
    expect(s.atBoundary).toBe(false);
    s.push(stream.subarray(3, 8));
    expect(s.atBoundary).toBe(false);
    s.push(stream.subarray(8, 4 + 9));
    expect(s.atBoundary).toBe(true);
  });

  it('joins a payload of 16 MiB and more across packets, fetched or sent', () => {
    const payload = Buffer.alloc(MAX_PACKET_PAYLOAD + 5, 0x61);
    payload[0] = 0x03;
    const bytes = encodePacket(0, payload);
    const fetched = run([bytes.subarray(0, 1000), bytes.subarray(1000, 9_000_000), bytes.subarray(9_000_000)], () => 'fetch');
    expect(fetched.fetched.length).toBe(1);
    expect(fetched.fetched[0]!.payload.length).toBe(payload.length * 2);
    expect(fetched.fetched[0]!.raw.length).toBe(bytes.length * 2);
    expect(fetched.starts.length).toBe(1);
    const sent = run([bytes.subarray(0, MAX_PACKET_PAYLOAD + 2), bytes.subarray(MAX_PACKET_PAYLOAD + 2)], () => 'send');
    expect(sent.forwarded.length).toBe(bytes.length * 2);
    expect(sent.atBoundary).toBe(true);
  });

  it('refuses a continuation with the wrong sequence id', () => {
    const bytes = Buffer.from(encodePacket(0, Buffer.alloc(MAX_PACKET_PAYLOAD + 1, 1)));
    bytes[4 + MAX_PACKET_PAYLOAD + 3] = 7;
    expect(() => run([bytes], () => 'send')).toThrow(/out of order/);
  });

  it('refuses a fetched packet over the limit before buffering it', () => {
    const s = new PacketScanner(100, { onStart: () => 'fetch', onForward: () => undefined, onPacket: () => undefined });
    const head = Buffer.from('ffffff0003', 'hex'); // claims 16 MiB
    expect(() => s.push(head)).toThrow(/exceeds the limit/);
  });

  it('lets the sink reject a packet from its header', () => {
    const s = new PacketScanner(100, { onStart: (seq) => { if (seq !== 0) throw new Error('seq'); return 'send'; }, onForward: () => undefined, onPacket: () => undefined });
    expect(() => s.push(encodePacket(5, Buffer.from([3])))).toThrow('seq');
  });
});

describe('PacketScanner pause', () => {
  it('holds the packets after the current one (same chunk and later chunks) until resume, in order', () => {
    const seen: string[] = [];
    let scanner!: PacketScanner;
    scanner = new PacketScanner(1 << 20, {
      onStart: () => 'fetch',
      onForward: () => undefined,
      onPacket: (payload) => {
        seen.push(payload.toString('latin1', 1));
        if (payload.toString('latin1', 1) === 'a') scanner.pause();
      },
    });
    const pkt = (s: string) => encodePacket(0, Buffer.concat([Buffer.from([3]), Buffer.from(s, 'latin1')]));
    scanner.push(Buffer.concat([pkt('a'), pkt('b')]));
    scanner.push(pkt('c').subarray(0, 3));
    expect(seen).toEqual(['a']);
    scanner.push(pkt('c').subarray(3));
    scanner.resume();
    expect(seen).toEqual(['a', 'b', 'c']);
  });
});
