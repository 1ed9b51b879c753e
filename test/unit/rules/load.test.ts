// Rule file loading and lint: strict schema, errors with file, line and rule id.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkSql, formatRuleError, lintRules } from '../../../src/rules/check.js';
import { loadRuleSets, parseRuleSet } from '../../../src/rules/load.js';
import { isBrokerError } from '../../../src/errors.js';

const dirs: string[] = [];
function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'dbwarden-rules-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const GOOD = `ruleset: team
description: example
rules:
  - id: no-delete
    when: { statement: delete }
    action: block
    message: no deletes
  - id: mask-mail
    when:
      columns: ["*.*.email"]
    action: mask
    mask: email
`;

describe('loading', () => {
  it('loads a valid file and normalises single values to lists', () => {
    const { rulesets, errors } = loadRuleSets(folder({ 'team.yaml': GOOD }));
    expect(errors).toEqual([]);
    const set = rulesets.get('team')!;
    expect(set.description).toBe('example');
    expect(set.rules.map((r) => r.id)).toEqual(['no-delete', 'mask-mail']);
    expect(set.rules[0]).toMatchObject({ when: { statement: ['delete'] }, action: 'block', message: 'no deletes', line: 4 });
    expect(set.rules[1]).toMatchObject({ mask: 'email', line: 8 });
  });

  it('falls back to the description, then a generic text, for the message', () => {
    const r = parseRuleSet('ruleset: x\nrules:\n  - id: a\n    description: about a\n    when: {}\n    action: warn\n  - id: b\n    when: {}\n    action: warn\n', 'x.yaml');
    expect(r.errors).toEqual([]);
    expect(r.ruleset!.rules.map((x) => x.message)).toEqual(['about a', 'matched rule b']);
  });

  it('reads only .yaml/.yml files, in name order', () => {
    const dir = folder({ 'b.yml': 'ruleset: b\nrules: []\n', 'a.yaml': 'ruleset: a\nrules: []\n', 'notes.txt': 'x' });
    expect([...loadRuleSets(dir).rulesets.keys()]).toEqual(['a', 'b']);
  });
});

describe('lint errors name file, line and rule id', () => {
  it('reports an unknown key at its line', () => {
    const dir = folder({ 'team.yaml': GOOD.replace('    action: block\n', '    action: block\n    severity: high\n') });
    const errors = lintRules(dir);
    expect(errors).toEqual([{ file: join(dir, 'team.yaml'), line: 7, ruleId: 'no-delete', message: 'unknown key "severity"' }]);
    expect(formatRuleError(errors[0]!)).toBe(`${join(dir, 'team.yaml')}:7 [no-delete]: unknown key "severity"`);
  });

  it('reports an unknown key inside when', () => {
    const errors = lintRules(folder({ 'x.yaml': 'ruleset: x\nrules:\n  - id: r1\n    when:\n      statment: delete\n    action: block\n' }));
    expect(errors).toMatchObject([{ line: 5, ruleId: 'r1', message: 'unknown key "statment" in when' }]);
  });

  it('reports a bad action naming the value', () => {
    const errors = lintRules(folder({ 'x.yaml': 'ruleset: x\nrules:\n  - id: r1\n    when: {}\n    action: deny\n' }));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ line: 5, ruleId: 'r1' });
    expect(errors[0]!.message).toMatch(/unknown action "deny" \(expected one of: allow, warn, mask, review, block\)/);
  });

  it.each([
    ['statement kind', 'when: { statement: [select, delet] }', /unknown statement kind "delet"/],
    ['effect', 'when: { effect: writes }', /unknown effect "writes"/],
    ['where value', 'when: { where: missing }', /unknown where value "missing"/],
    ['access level', 'when: { access: [root] }', /unknown access level "root"/],
  ])('reports an unknown %s', (_what, when, message) => {
    const errors = lintRules(folder({ 'x.yaml': `ruleset: x\nrules:\n  - id: r1\n    ${when}\n    action: block\n` }));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ line: 4, ruleId: 'r1' });
    expect(errors[0]!.message).toMatch(message);
  });

  it('reports an unknown mask kind and mask misuse', () => {
    const bad = lintRules(folder({ 'x.yaml': 'ruleset: x\nrules:\n  - id: m\n    when: { columns: [a] }\n    action: mask\n    mask: scramble\n' }));
    expect(bad).toMatchObject([{ line: 6, ruleId: 'm' }]);
    expect(bad[0]!.message).toMatch(/unknown mask "scramble"/);
    const missing = lintRules(folder({ 'x.yaml': 'ruleset: x\nrules:\n  - id: m\n    when: { columns: [a] }\n    action: mask\n' }));
    expect(missing).toMatchObject([{ line: 5, ruleId: 'm', message: expect.stringMatching(/needs a `mask:` kind/) }]);
    const noColumns = lintRules(folder({ 'x.yaml': 'ruleset: x\nrules:\n  - id: m\n    when: {}\n    action: mask\n    mask: hash\n' }));
    expect(noColumns[0]!.message).toMatch(/needs `when.columns`/);
    const stray = lintRules(folder({ 'x.yaml': 'ruleset: x\nrules:\n  - id: m\n    when: {}\n    action: block\n    mask: hash\n' }));
    expect(stray).toMatchObject([{ line: 6, message: expect.stringMatching(/only applies to action mask/) }]);
  });

  it('reports duplicate rule ids and duplicate ruleset names', () => {
    const dup = lintRules(folder({ 'x.yaml': 'ruleset: x\nrules:\n  - id: a\n    when: {}\n    action: warn\n  - id: a\n    when: {}\n    action: warn\n' }));
    expect(dup).toMatchObject([{ line: 6, ruleId: 'a', message: 'duplicate rule id "a" (first on line 3)' }]);
    const dir = folder({ 'a.yaml': 'ruleset: same\nrules: []\n', 'b.yaml': '# second\nruleset: same\nrules: []\n' });
    const { rulesets, errors } = loadRuleSets(dir);
    expect(errors).toEqual([{ file: join(dir, 'b.yaml'), line: 2, message: `ruleset "same" is already defined in ${join(dir, 'a.yaml')}` }]);
    expect(rulesets.size).toBe(1);
  });

  it('reports YAML syntax errors with their line', () => {
    const errors = lintRules(folder({ 'x.yaml': 'ruleset: x\nrules:\n  - id: a\n    when: { statement: [delete }\n    action: block\n' }));
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]!.line).toBe(4);
    expect(errors[0]!.message).toMatch(/^YAML: /);
  });

  it('reports missing required fields and a missing folder', () => {
    const errors = lintRules(folder({ 'x.yaml': 'ruleset: x\nrules:\n  - id: a\n    action: block\n' }));
    expect(errors).toMatchObject([{ line: 3, ruleId: 'a', message: expect.stringMatching(/^when: /) }]);
    expect(lintRules('/nonexistent/dbwarden-rules')).toMatchObject([{ line: 0, message: expect.stringMatching(/cannot read rules folder/) }]);
  });

  it('drops a whole file that has any error, keeping the others', () => {
    const dir = folder({ 'good.yaml': GOOD, 'bad.yaml': 'ruleset: bad\nrules:\n  - id: ok\n    when: {}\n    action: block\n  - id: broken\n    when: {}\n    action: nope\n' });
    const { rulesets, errors } = loadRuleSets(dir);
    expect([...rulesets.keys()]).toEqual(['team']);
    expect(errors).toMatchObject([{ line: 8, ruleId: 'broken' }]);
  });

  it('checkSql refuses an invalid rules folder with BRK_RULES_INVALID', () => {
    const dir = folder({ 'x.yaml': 'ruleset: x\nrules:\n  - id: a\n    when: {}\n    action: nope\n' });
    try {
      checkSql({ sql: 'SELECT 1', rulesDir: dir });
      expect.unreachable();
    } catch (err) {
      expect(isBrokerError(err) && err.code).toBe('BRK_RULES_INVALID');
      expect((err as Error).message).toContain('x.yaml:5 [a]');
    }
  });
});
