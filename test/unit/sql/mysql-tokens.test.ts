// Canonical-text tokenizer (mysql-tokens.ts): strings and quoted names decoded by slicing runs must give exactly the
// values a character-by-character reading gives (the reference below), for any text, including unterminated ones.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tokenize } from '../../../src/sql/mysql-tokens.js';

/** The character-by-character reading of a `'…'` string or a backquoted name starting at i: [value, end]. */
function reference(text: string, i: number): [string, number] {
  const q = text[i]!;
  let v = '';
  let j = i + 1;
  while (j < text.length) {
    const ch = text[j]!;
    if (ch === q && text[j + 1] === q) { v += q; j += 2; continue; }
    if (ch === q) break;
    if (q === "'" && ch === '\\' && j + 1 < text.length) { v += text[j + 1] === '0' ? '\0' : text[j + 1]!; j += 2; continue; }
    v += ch;
    j++;
  }
  return [v, j + 1];
}

describe('tokenize: strings and quoted names', () => {
  it('decodes every string and quoted name as the character-by-character reading does', () => {
    const piece = fc.constantFrom("'", "''", '\\', "\\'", '\\0', '`', '``', 'a', ' ', 'é', '\n', 'x y');
    fc.assert(fc.property(fc.constantFrom("'", '`'), fc.array(piece, { maxLength: 12 }), fc.boolean(), (q, parts, close) => {
      const text = `${q}${parts.join('')}${close ? q : ''}`;
      const t = tokenize(text)[0]!;
      const [value, end] = reference(text, 0);
      expect(t.value).toBe(value);
      expect(t.end).toBe(end);
    }), { numRuns: 5000 });
  });

  it('reads an 8 MiB literal in linear time', () => {
    const text = `SELECT '${'x'.repeat(8 * 1024 * 1024)}'`;
    const t = performance.now();
    expect(tokenize(text)[1]!.value).toHaveLength(8 * 1024 * 1024);
    expect(performance.now() - t).toBeLessThan(2_000);
  });
});
