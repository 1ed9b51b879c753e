// Guard caches bounded by bytes: distinct large statements cannot grow the decision and shape caches past their
// budget, decisions stay right, and statementCacheSize 0 ("no cache") decides every text afresh.
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadRuleSets } from '../../../src/rules/load.js';
import type { RuleSet } from '../../../src/rules/rule-set.js';
import { Guard } from '../../../src/session/guard.js';
import { initSql } from '../../../src/sql/analyze.js';

let sets: RuleSet[];
beforeAll(async () => {
  await initSql();
  sets = [loadRuleSets(resolve('rules')).rulesets.get('safe-defaults')!];
});
const ctx = (dialect: 'postgres' | 'mysql') => ({ dialect, target: 'app', access: 'read' as const, groups: [] });

describe('Guard cache bounds', () => {
  for (const dialect of ['postgres', 'mysql'] as const) {
    it(`${dialect}: distinct 8 KB statements stay within a 1 MiB budget and decide correctly`, () => {
      const g = new Guard(ctx(dialect), sets, { entries: 10_000, bytes: 1 << 20 });
      const pad = 'x'.repeat(8_000);
      for (let i = 0; i < (dialect === 'postgres' ? 300 : 120); i++) {
        expect(g.decide(`SELECT '${pad}${i}' AS v`).action).toBe('allow');
        expect(g.decide(`DELETE FROM t${i} WHERE '${pad}' = '${pad}'`).action).toBe('block');
      }
      // two caches, each within the budget
      expect(g.cached.bytes).toBeLessThanOrEqual(2 << 20);
      expect(g.cached.entries).toBeGreaterThan(0);
      expect(g.cached.entries).toBeLessThan(600);
    });
  }

  it('a statement larger than a sixteenth of the budget is decided but never cached', () => {
    const g = new Guard(ctx('postgres'), sets, { entries: 10_000, bytes: 1 << 20 });
    const text = `SELECT '${'y'.repeat(100_000)}'`;
    expect(g.decide(text).action).toBe('allow');
    expect(g.decide(text).action).toBe('allow');
    // the text itself is never kept; only its small shape may be (guard-large.test.ts)
    expect(g.cached.bytes).toBeLessThan(4096);
  });

  it('statementCacheSize 0 means no cache: every decision is made afresh and still right', () => {
    const g = new Guard(ctx('postgres'), sets, { entries: 0, bytes: 1 << 20 });
    for (let i = 0; i < 3; i++) {
      expect(g.decide('SELECT 1').action).toBe('allow');
      expect(g.decide('DROP TABLE x').action).toBe('block');
    }
    expect(g.cached).toEqual({ entries: 0, bytes: 0 });
    // the old number-only form too (tests and embedders pass a plain size)
    expect(new Guard(ctx('mysql'), sets, 0).decide('SELECT 1').action).toBe('allow');
  });

  it('small repeated statements still hit the cache', () => {
    const g = new Guard(ctx('postgres'), sets, { entries: 100, bytes: 1 << 20 });
    g.decide('SELECT 1');
    const before = g.cached;
    g.decide('SELECT 1');
    expect(before.entries).toBeGreaterThan(0);
    expect(g.cached).toEqual(before);
  });
});
