// checkSql/lintRules: the offline body of `dbwarden rules check|lint` and POST /v1/rules/check.
import { describe, expect, it } from 'vitest';
// deliberately no initSql(): importing the check module must be enough for offline callers
import { SHIPPED_RULES_DIR, checkExitCode, checkSql, lintRules } from '../../../src/rules/check.js';

describe('checkSql', () => {
  it('uses the shipped rules by default and returns action, rules and facts', () => {
    const r = checkSql({ sql: 'DELETE FROM t' });
    expect(r.action).toBe('block');
    expect(r.rules[0]).toEqual({
      id: 'unscoped-write', ruleset: 'safe-defaults', action: 'block', statement: 0,
      message: expect.stringContaining('WHERE'),
    });
    expect(r.statements).toMatchObject([{ kind: 'delete', where: 'absent', effects: ['write'], text: 'DELETE FROM t' }]);
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });

  it('reads rules from a folder and honours access', () => {
    expect(checkSql({ sql: 'INSERT INTO t VALUES (1)', rulesDir: SHIPPED_RULES_DIR }).action).toBe('allow');
    expect(checkSql({ sql: 'INSERT INTO t VALUES (1)', rulesDir: SHIPPED_RULES_DIR, access: 'read' }).action).toBe('block');
  });

  it('applies only the rule sets it is given', () => {
    expect(checkSql({ sql: 'DROP TABLE t', rulesets: [] })).toMatchObject({ action: 'allow', rules: [] });
  });

  it('checks mysql text with the same rules', () => {
    expect(checkSql({ sql: 'SELECT 1', dialect: 'mysql' }).action).toBe('allow');
    const r = checkSql({ sql: 'DELETE FROM t', dialect: 'mysql' });
    expect(r.action).toBe('block');
    expect(r.rules[0]!.id).toBe('unscoped-write');
  });

  it('maps actions to the CLI exit codes', () => {
    expect(['allow', 'warn', 'mask', 'block', 'review'].map((a) => checkExitCode(a as never))).toEqual([0, 0, 0, 3, 4]);
  });

  it('lints the shipped rules clean', () => {
    expect(lintRules()).toEqual([]);
  });
});
