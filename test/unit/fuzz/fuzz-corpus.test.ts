// Replays the corpus kept by the coverage-guided fuzzer (bench/fuzz.ts, bench/fuzz-corpus/<target>/) through the
// same targets: every input that once reached new code, and every crash input after its fix, must run clean.
import { describe, expect, it } from 'vitest';
import { TARGETS, corpusOf } from '../../../bench/fuzz.js';
import { initSql } from '../../../src/sql/analyze.js';

await initSql();

describe('fuzz corpus replay', () => {
  for (const t of TARGETS) {
    it(`${t.name}: every kept input runs without a crash`, () => {
      const corpus = corpusOf(t.name);
      expect(corpus.length).toBeGreaterThan(0);
      const crashes: string[] = [];
      for (const { name, input } of corpus) {
        try {
          t.run(input);
        } catch (e) {
          crashes.push(`${name}: ${(e as Error).message}`);
        }
      }
      expect(crashes).toEqual([]);
    });
  }
});
