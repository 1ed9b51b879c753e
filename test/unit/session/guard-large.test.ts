// Large texts (beyond what the exact cache keeps) are decided by their shape when it is small: distinct 8 MiB
// statements of one shape cost one parse, never pin their text, and never borrow a decision they would not get.
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../../src/metrics/metrics.js';
import { evaluate } from '../../../src/rules/evaluate.js';
import { loadRuleSets } from '../../../src/rules/load.js';
import type { RuleSet } from '../../../src/rules/rule-set.js';
import type { AccessLevel } from '../../../src/rules/types.js';
import { Guard } from '../../../src/session/guard.js';
import { analyze, initSql } from '../../../src/sql/analyze.js';
import type { Dialect, ReadOptions } from '../../../src/sql/facts.js';

let sets: RuleSet[];
beforeAll(async () => {
  await initSql();
  const { rulesets } = loadRuleSets(resolve('rules'));
  sets = [rulesets.get('safe-defaults')!, rulesets.get('pii-masking')!];
});
const ctx = (dialect: Dialect, access: AccessLevel) => ({ dialect, target: 'app', access, groups: [] });
const MY: ReadOptions = { mariadb: true, serverVersion: 101119, ansiQuotes: false, noBackslashEscapes: false };
const counter = async (m: ReturnType<typeof createMetrics>, name: string) => (await m.registry.getSingleMetric(name)!.get()).values[0]!.value;

describe('large texts', () => {
  for (const dialect of ['postgres', 'mysql'] as const) {
    const opts = dialect === 'mysql' ? MY : undefined;
    it(`${dialect}: distinct 1 MiB texts of one shape are parsed once and keep nothing of their text`, async () => {
      const m = createMetrics();
      const g = new Guard(ctx(dialect, 'read'), sets, { entries: 1000, bytes: 1 << 20 }, m);
      const body = 'q'.repeat(1 << 20);
      for (let i = 0; i < 20; i++) expect(g.decide(`SELECT length('${i}-${body}') AS n`, opts).action).toBe('allow');
      expect(await counter(m, 'dbwarden_statement_cache_misses_total')).toBe(1);
      expect(await counter(m, 'dbwarden_statement_cache_hits_total')).toBe(19);
      expect(g.cached.bytes).toBeLessThan(8192);
    });

    it(`${dialect}: large texts get the decision they get on their own (other shapes, refused kinds)`, { timeout: 120_000 }, () => {
      const body = 'z'.repeat(dialect === 'mysql' ? 40_000 : 300_000);
      const texts: [AccessLevel, string][] = [
        ['read', `SELECT '${body}' AS v`],
        ['read', `INSERT INTO t VALUES ('${body}')`],
        ['read', `DELETE FROM t WHERE v = '${body}'`],
        ['write', `DELETE FROM t WHERE '${body}' = '${body}'`],
        ['write', `UPDATE t SET v = '${body}'`],
        ['write', `SELECT '${body}'; DROP TABLE t`],
        ['read', `SELECT email FROM users WHERE note = '${body}'`],
      ];
      for (const [access, sql] of texts) {
        const g = new Guard(ctx(dialect, access), sets, { entries: 1000, bytes: 1 << 20 });
        // twice with other literal values: the second may come from the shape
        for (const v of [sql, sql.replaceAll(body, body.slice(1) + 'y')]) {
          const got = g.decide(v, opts);
          const want = evaluate(sets, analyze(dialect, v, opts), ctx(dialect, access));
          expect({ action: got.action, rules: got.rules.map((r) => r.id) }).toEqual({ action: want.action, rules: want.rules.map((r) => r.id) });
        }
      }
    });
  }
});
