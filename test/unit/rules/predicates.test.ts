// Rule key `predicates`: columns compared in WHERE, HAVING and JOIN conditions, in both dialects.
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluate } from '../../../src/rules/evaluate.js';
import { parseRuleSet } from '../../../src/rules/load.js';
import { analyze, initSql } from '../../../src/sql/analyze.js';
import type { Dialect } from '../../../src/sql/facts.js';

beforeAll(async () => {
  await initSql();
});

const { ruleset } = parseRuleSet(`ruleset: probe
rules:
  - id: no-masked-predicates
    when: { predicates: ["*.*.email"] }
    action: block
    message: filtering on masked columns is not allowed
`, 'probe.yaml');

function decide(dialect: Dialect, sql: string) {
  return evaluate([ruleset!], analyze(dialect, sql), { dialect, access: 'write', target: 't', groups: [] }).action;
}

describe('predicates', () => {
  for (const dialect of ['postgres', 'mysql'] as const) {
    it(`${dialect}: blocks filtering, joining and grouping conditions on the column, not reading it`, () => {
      expect(decide(dialect, "SELECT id FROM users WHERE email LIKE 'a%'")).toBe('block');
      expect(decide(dialect, 'SELECT u.id FROM users u JOIN leads l ON l.email = u.email')).toBe('block');
      expect(decide(dialect, "SELECT count(*) FROM users GROUP BY name HAVING max(email) > 'm'")).toBe('block');
      expect(decide(dialect, "UPDATE users SET name = 'x' WHERE email = 'a@b.c'")).toBe('block');
      expect(decide(dialect, "SELECT id FROM users WHERE id IN (SELECT user_id FROM leads WHERE email = 'x')")).toBe('block');
      expect(decide(dialect, 'SELECT email FROM users WHERE id = 1')).toBe('allow');
      expect(decide(dialect, "SELECT id FROM users WHERE name = 'email'")).toBe('allow');
    });
  }

  it('rejects an empty predicates list in a rule file', () => {
    const r = parseRuleSet('ruleset: x\nrules:\n  - id: a\n    when: { predicates: [] }\n    action: block\n', 'x.yaml');
    expect(r.errors.length).toBeGreaterThan(0);
  });
});
