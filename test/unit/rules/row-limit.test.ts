// maxRows/maxFraction: rule-file validation, which statements a limit applies to, the limit in force, the message.
import { describe, expect, it } from 'vitest';
import { parseRuleSet } from '../../../src/rules/load.js';
import { effectiveLimit, rowLimitMessage } from '../../../src/session/row-limit.js';

const file = (rules: string) => `ruleset: t\nrules:\n${rules}`;

describe('row limit rules', () => {
  it('lint: a limit needs a positive whole number, allow/warn and a write statement', () => {
    const bad = parseRuleSet(file(`  - id: a\n    when: { statement: select }\n    action: block\n    maxRows: 2\n  - id: b\n    when: { statement: delete }\n    action: allow\n    maxRows: 0\n  - id: c\n    when: { statement: delete }\n    action: allow\n    maxFraction: 1.5\n`), 'x.yaml');
    const msgs = bad.errors.map((e) => `${e.line} ${e.ruleId} ${e.message}`);
    expect(msgs.some((m) => m.includes('b maxRows: maxRows must be at least 1'))).toBe(true);
    expect(msgs.some((m) => m.includes('c maxFraction: maxFraction must be at most 1'))).toBe(true);
    const bad2 = parseRuleSet(file(`  - id: a\n    when: { statement: select }\n    action: block\n    maxRows: 2\n`), 'x.yaml');
    expect(bad2.errors.map((e) => e.message)).toEqual(expect.arrayContaining([
      'maxRows/maxFraction need action allow or warn (the limit is what refuses), not block',
      'maxRows/maxFraction only apply to statements that change rows (insert, update, delete, merge, call)',
    ]));
    const good = parseRuleSet(file(`  - id: m\n    when: { statement: [update, delete] }\n    action: allow\n    maxRows: 10\n    maxFraction: 0.1\n`), 'x.yaml');
    expect(good.errors).toEqual([]);
    expect(good.ruleset!.rules[0]).toMatchObject({ maxRows: 10, maxFraction: 0.1 });
  });

  it('the smaller of maxRows and maxFraction × estimate applies, naming its rule', () => {
    const rl = { kind: 'DELETE', tables: ['t'], limits: [{ rule: 'a', maxRows: 1000 }, { rule: 'b', maxFraction: 0.1 }] };
    expect(effectiveLimit(rl)).toEqual({ rule: 'a', limit: 1000 });
    expect(effectiveLimit(rl, 5000)).toEqual({ rule: 'b', limit: 500 });
    expect(effectiveLimit(rl, 50000)).toEqual({ rule: 'a', limit: 1000 });
    expect(effectiveLimit({ ...rl, limits: [{ rule: 'b', maxFraction: 0.1 }] })).toBeNull();
  });

  it('SPEC §9 message', () => {
    expect(rowLimitMessage('max-rows', 'DELETE', 5000, 100)).toBe('dbwarden: blocked by rule max-rows: this DELETE would change 5,000 rows (limit 100); nothing was changed');
  });
});
