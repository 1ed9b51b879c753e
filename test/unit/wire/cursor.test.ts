// wire/cursor.ts: every read checks its bounds and fails with the decoder's own error; lenenc as MySQL writes it.
import { describe, expect, it } from 'vitest';
import { ByteCursor } from '../../../src/wire/cursor.js';

class Malformed extends Error {}
const at = (bytes: number[], off = 0) => new ByteCursor(Buffer.from(bytes), off, (m) => new Malformed(m));

describe('ByteCursor', () => {
  it('reads integers in both byte orders and moves past them', () => {
    const c = at([1, 2, 0, 3, 0, 0, 0, 0xff, 0xfe, 0, 0, 0, 9]);
    expect([c.u8(), c.u16le(), c.u32le(), c.i16be(), c.u32be()]).toEqual([1, 2, 3, -2, 9]);
    expect(c.atEnd).toBe(true);
  });

  it('strings: NUL-terminated, or to the end where the protocol allows it', () => {
    const c = at([0x61, 0x62, 0, 0x63]);
    expect(c.cstring()).toBe('ab');
    expect(() => at([0x63]).cstring('user')).toThrow(new Malformed('user not terminated'));
    expect(c.cstringOrRest()).toBe('c');
    expect(c.atEnd).toBe(true);
  });

  it.each<[string, number[], number | null]>([
    ['one byte', [0xfa], 250],
    ['NULL', [0xfb], -1],
    ['two bytes', [0xfc, 0x01, 0x01], 257],
    ['three bytes', [0xfd, 0, 0, 1], 65536],
    ['eight bytes', [0xfe, 1, 0, 0, 0, 0, 0, 0, 0], 1],
    ['eight bytes beyond 2^53', [0xfe, 0, 0, 0, 0, 0, 0, 0x20, 0], null],
    ['cut short', [0xfc, 1], null],
    ['0xff is no length', [0xff], null],
    ['nothing left', [], null],
  ])('lenenc: %s', (_n, bytes, want) => {
    const c = at(bytes);
    if (want === null) expect(() => c.lenenc()).toThrow(Malformed);
    else expect([c.lenenc(), c.atEnd]).toEqual([want, true]);
  });

  it('no read passes the end: a lying length fails with the decoder\'s error, not a RangeError', () => {
    expect(() => at([5, 0x61]).lenencBytes()).toThrow(new Malformed('length-encoded string past the end of the packet'));
    expect(() => at([1, 2, 3], 2).u16le()).toThrow(Malformed);
    expect(() => at([1, 2, 3], 1).u32be()).toThrow(Malformed);
    expect(() => at([1, 2]).bytes(3)).toThrow(Malformed);
    expect(() => at([1, 2]).skip(-1)).toThrow(Malformed);
    const c = at([2, 0x61, 0x62, 0xfb]);
    expect(c.lenencBytes().toString()).toBe('ab');
    expect(c.lenencBytes().length).toBe(0);
  });
});
