// PostgreSQL row masking, table-driven: the plan per column origin, and DataRow rewriting for each mask kind.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { maskDataRow, planRow, type FieldDesc } from '../../../src/pg/row-masker.js';
import { maskText } from '../../../src/session/mask.js';

const key = Buffer.alloc(32, 7);
const field = (tableOid: number, attnum: number, typeOid = 25): FieldDesc => ({ name: 'c', tableOid, attnum, typeOid, format: 0 });

function dataRow(values: (string | null)[]): Buffer {
  const parts: Buffer[] = [Buffer.from([0, values.length])];
  for (const v of values) {
    const len = Buffer.alloc(4);
    len.writeInt32BE(v === null ? -1 : Buffer.byteLength(v), 0);
    parts.push(len, ...(v === null ? [] : [Buffer.from(v)]));
  }
  return Buffer.concat(parts);
}

function values(msg: Buffer): (string | null)[] {
  const n = msg.readInt16BE(5);
  const out: (string | null)[] = [];
  for (let i = 0, off = 7; i < n; i++) {
    const len = msg.readInt32BE(off);
    off += 4;
    out.push(len < 0 ? null : msg.toString('utf8', off, off + len));
    if (len > 0) off += len;
  }
  return out;
}

describe('planRow', () => {
  const resolve = (oid: number, att: number) => (oid === 100 && att === 2 ? 'email' : oid === 100 ? null : undefined);
  const table: [string, FieldDesc[], 'redact' | null, (string | null)[] | null][] = [
    ['clean columns of a known table', [field(100, 1)], null, null],
    ['a masked column', [field(100, 1), field(100, 2)], null, [null, 'email']],
    ['an origin the catalog cannot name fails closed', [field(999, 1)], null, ['null']],
    ['an expression while the statement reads a masked column', [field(0, 0)], 'redact', ['redact']],
    ['an expression in a statement without masked reads', [field(0, 0)], null, null],
  ];
  for (const [name, fields, derived, want] of table) {
    it(name, () => expect(planRow(fields, resolve, derived, 'null')).toEqual(want));
  }
});

describe('maskDataRow', () => {
  const table: [string, 'redact' | 'partial' | 'email' | 'null', string, string | null][] = [
    ['redact', 'redact', 'secret', '[redacted]'],
    ['partial keeps the last four', 'partial', '4111111111111111', '************1111'],
    ['null', 'null', 'x', null],
  ];
  for (const [name, mask, input, want] of table) {
    it(`${name}: text columns get masked text`, () => {
      const out = maskDataRow(dataRow(['keep', input]), [null, mask], [25, 25], key, 'null');
      expect(values(out)).toEqual(['keep', want]);
    });
  }
  it('a masked non-text column becomes NULL (no client gets bytes it cannot decode)', () => {
    expect(values(maskDataRow(dataRow(['42']), ['partial'], [23], key, 'null'))).toEqual([null]);
  });
  it('more columns than the plan: the extra ones get the fallback mask (fail closed)', () => {
    expect(values(maskDataRow(dataRow(['a', 'b']), [null], [25, 25], key, 'redact'))).toEqual(['a', '[redacted]']);
  });
  it('NULL stays NULL, and the message length matches its body', () => {
    const out = maskDataRow(dataRow([null, 'abc']), ['redact', 'redact'], [25, 25], key, 'null');
    expect(values(out)).toEqual([null, '[redacted]']);
    expect(out.readInt32BE(1)).toBe(out.length - 1);
  });

  it('random rows: every column is the mask of its input or the input itself, byte for byte, and lengths agree', () => {
    let seed = 12345;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    const kinds = [null, 'redact', 'null', 'partial', 'email'] as const;
    for (let round = 0; round < 500; round++) {
      const n = 1 + rnd(8);
      // long values too: runs of unmasked columns and email tails above and below the byte-loop copy's limit (64)
      const input = Array.from({ length: n }, () => (rnd(5) === 0 ? null : rnd(4) === 0 ? '' : rnd(3) === 0 ? `${'L'.repeat(20 + rnd(120))}@y${'é'.repeat(rnd(40))}.org` : `v${rnd(1000)}@x${'é'.repeat(rnd(3))}.org`));
      const plan = Array.from({ length: rnd(n + 1) }, () => kinds[rnd(kinds.length)]!);
      const types = Array.from({ length: n }, () => (rnd(3) === 0 ? 23 : 25));
      const out = maskDataRow(dataRow(input), plan, types, key, 'redact');
      expect(out.readInt32BE(1)).toBe(out.length - 1);
      const want = input.map((v, i) => {
        const m = i < plan.length ? plan[i]! : 'redact';
        if (!m || v === null) return v;
        if (types[i] !== 25) return null;
        return m === 'null' ? null : m === 'redact' ? '[redacted]' : m === 'partial' ? ([...v].length <= 4 ? '*'.repeat([...v].length) : '*'.repeat([...v].length - 4) + [...v].slice(-4).join('')) : v.lastIndexOf('@') <= 0 ? '[redacted]' : `${[...v][0]}***${v.slice(v.lastIndexOf('@'))}`;
      });
      expect(values(out)).toEqual(want);
    }
  });
});

/** The column values of a DataRow body, as bytes (null: SQL NULL). */
function columns(body: Buffer): (Buffer | null)[] {
  const out: (Buffer | null)[] = [];
  for (let i = 0, n = body.readInt16BE(0), off = 2; i < n; i++) {
    const len = body.readInt32BE(off);
    off += 4;
    out.push(len < 0 ? null : Buffer.from(body.subarray(off, off + len)));
    if (len > 0) off += len;
  }
  return out;
}

describe('maskDataRow against maskText (the email mask cut from the bytes)', () => {
  // the byte path must give exactly what the text path gives, for every value: addresses, non-ASCII, several or no
  // `@`, empty, invalid UTF-8 (bytes the client encoding may hand over)
  const value = fc.oneof(
    fc.emailAddress(),
    fc.string({ unit: 'grapheme' }),
    fc.string({ unit: fc.constantFrom('a', '@', 'é', '😀', '.', ' ', 'Z') }),
    fc.uint8Array({ maxLength: 24 }).map((a) => Buffer.from(a).toString('latin1')),
  );
  it('gives the same row for every value and column layout', () => {
    fc.assert(
      fc.property(fc.array(fc.option(value, { nil: null }), { minLength: 1, maxLength: 5 }), fc.nat(4), fc.boolean(), (cols, which, raw) => {
        const i = which % cols.length;
        const plan = cols.map((_, j) => (j === i ? ('email' as const) : null));
        // raw: the value's bytes as latin1 (possibly invalid UTF-8), else its UTF-8 encoding
        const body = raw
          ? Buffer.concat([Buffer.from([0, cols.length]), ...cols.flatMap((v) => {
            const len = Buffer.alloc(4);
            const bytes = v === null ? null : Buffer.from(v, 'latin1');
            len.writeInt32BE(bytes === null ? -1 : bytes.length, 0);
            return bytes === null ? [len] : [len, bytes];
          })])
          : dataRow(cols);
        const msg = maskDataRow(body, plan, cols.map(() => 25), key, 'redact');
        expect(msg.readInt32BE(1)).toBe(msg.length - 1);
        // compared as bytes: the masked column is maskText's output in UTF-8, every other column its own bytes
        const out = columns(msg.subarray(5));
        const sent = columns(body);
        const expected = sent.map((b, j) => (j === i && b !== null ? Buffer.from(maskText('email', b.toString('utf8'), key)!, 'utf8') : b));
        expect(out).toEqual(expected);
      }),
      { numRuns: 3000 },
    );
  });
});
