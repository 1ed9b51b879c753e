// How the broker decodes MySQL statement bytes in the UTF-8 family: the server's reading (CESU-8 surrogates taken
// in, anything else that is not UTF-8 refused), and KILL ids rewritten in the client's bytes, never re-encoded.
import { describe, expect, it } from 'vitest';
import { applyKillEdits } from '../../../src/mysql/kill-plan.js';
import { mysqlDecoder, pgDecoder } from '../../../src/wire/charsets.js';

const hex = (h: string) => Buffer.from(h.replace(/ /g, ''), 'hex');

describe('mysqlDecoder: utf8mb3 / utf8mb4', () => {
  for (const cs of ['utf8', 'utf8mb3', 'utf8mb4']) {
    const d = mysqlDecoder(cs)!;
    it(`${cs}: a CESU-8 surrogate pair decodes to the character its four-byte form gives`, () => {
      const cesu = Buffer.concat([Buffer.from('SELECT "'), hex('EDA0BD EDB2A9'), Buffer.from('"')]);
      expect(d(cesu)).toEqual({ ok: true, text: 'SELECT "\u{1F4A9}"' });
      expect(d(Buffer.from('SELECT "\u{1F4A9}"'))).toEqual({ ok: true, text: 'SELECT "\u{1F4A9}"' });
      // a lone surrogate (the server takes it too) stays one UTF-16 code unit, around ordinary UTF-8
      expect(d(Buffer.concat([Buffer.from('\u00e9'), hex('EDB080'), Buffer.from('x\u20ac')]))).toEqual({ ok: true, text: '\u00e9\udc00x\u20ac' });
    });
    it(`${cs}: bytes that are neither UTF-8 nor a whole surrogate sequence are refused`, () => {
      for (const bad of ['FF', 'EDA0', 'ED A0 41', 'C3 EDA0BD', 'EDA0BD C3', 'EDA0BD 80', 'EDC080']) {
        expect(d(Buffer.concat([Buffer.from("SELECT '"), hex(bad), Buffer.from("'")])).ok, bad).toBe(false);
      }
    });
  }
  it('PostgreSQL UTF8 stays strict: the server refuses surrogates', () => {
    expect(pgDecoder('UTF8')!(hex('EDA0BDEDB2A9')).ok).toBe(false);
  });
});

describe('applyKillEdits', () => {
  it('replaces the id in the client\'s bytes, whatever the non-ASCII characters around it', () => {
    const latin1 = Buffer.from("SELECT 'caf\u00e9'; KILL QUERY 17; SELECT '\u00e9'", 'latin1');
    const text = latin1.toString('latin1');
    const at = text.indexOf('17');
    expect(applyKillEdits(latin1, text, [{ at, length: 2, with: '4021' }])!.toString('latin1')).toBe("SELECT 'caf\u00e9'; KILL QUERY 4021; SELECT '\u00e9'");
    const cesu = Buffer.concat([Buffer.from('SELECT "'), hex('EDA0BDEDB2A9'), Buffer.from('"; KILL 9; KILL 12')]);
    const read = mysqlDecoder('utf8mb3')!(cesu);
    expect(read.ok).toBe(true);
    const t = (read as { text: string }).text;
    const out = applyKillEdits(cesu, t, [{ at: t.indexOf('9'), length: 1, with: '300' }, { at: t.lastIndexOf('12'), length: 2, with: '5' }])!;
    expect(out.equals(Buffer.concat([Buffer.from('SELECT "'), hex('EDA0BDEDB2A9'), Buffer.from('"; KILL 300; KILL 5')]))).toBe(true);
  });
  it('returns null when the bytes at the span are not the span\'s text', () => {
    const b = Buffer.from('KILL 5; SELECT 1');
    expect(applyKillEdits(b, 'KILL 6; SELECT 1', [{ at: 5, length: 1, with: '9' }])).toBeNull();
    expect(applyKillEdits(b, 'KILL 5; SELECT 1 -- 77', [{ at: 20, length: 2, with: '9' }])).toBeNull();
  });
});
