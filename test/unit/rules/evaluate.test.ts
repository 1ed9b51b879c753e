// evaluate(): condition keys, globs, unless, strength order and the deciding match.
import { beforeAll, describe, expect, it } from 'vitest';
import { conditionMatches, evaluate } from '../../../src/rules/evaluate.js';
import { matchColumn, matchFunction, matchName } from '../../../src/rules/glob.js';
import { blockedMessage, decisionMessage, reviewMessage, warningMessage } from '../../../src/rules/messages.js';
import type { Rule, RuleCondition, RuleSet } from '../../../src/rules/rule-set.js';
import type { EvalContext } from '../../../src/rules/types.js';
import { analyze, initSql } from '../../../src/sql/analyze.js';
import type { StatementFacts } from '../../../src/sql/facts.js';

beforeAll(async () => {
  await initSql();
});

const ctx: EvalContext = { dialect: 'postgres', access: 'write', target: 'app', groups: ['dev'] };
const facts = (sql: string) => analyze('postgres', sql);
const matches = (when: RuleCondition, sql: string, c: EvalContext = ctx) =>
  facts(sql).some((st: StatementFacts) => conditionMatches(when, st, c));

const rule = (id: string, action: Rule['action'], when: RuleCondition, extra: Partial<Rule> = {}): Rule => ({
  id, action, when, message: `${id} message`, ...extra,
});
const set = (name: string, rules: Rule[]): RuleSet => ({ name, rules });

describe('globs', () => {
  it.each([
    ['public.users', 'public.users', true],
    ['PUBLIC.Users', 'public.users', true],
    ['*.users', 'public.users', true],
    ['*.users', 'users', true],
    ['users', 'public.users', true],
    ['users', 'users', true],
    ['public.*', 'public.users', true],
    ['public.*', 'app.users', false],
    ['public.*', 'users', false],
    ['app.user*', 'app.users', true],
    ['app.user*', 'app.orders', false],
    ['*', 'public.users', true],
    ['**', 'a.b.c', true],
    ['a.**', 'a.b.c', true],
    ['a.*', 'a.b.c', false],
    ['*.*.email', 'public.users.email', true],
    ['*.*.email', 'users.email', true],
    ['*.*.email', 'email', true],
    ['**.email', 'email', true],
    ['*.*.email', 'public.users.emails', false],
    ['secret.*.ssn', 'users.ssn', false],
    ['email', 'public.users.email', true],
    ['users.email', 'public.users.email', true],
    ['orders.email', 'public.users.email', false],
    ['pub?ic.users', 'public.users', false],
  ])('matchName(%s, %s) = %s', (pattern, name, want) => {
    expect(matchName(pattern, name)).toBe(want);
  });

  it('treats table.* and * column facts as possibly holding the column', () => {
    expect(matchColumn('*.*.email', 'users.*')).toBe(true);
    expect(matchColumn('*.*.email', 'public.users.*')).toBe(true);
    expect(matchColumn('app.*.email', 'public.users.*')).toBe(false);
    expect(matchColumn('*.users.email', 'orders.*')).toBe(false);
    expect(matchColumn('email', 'orders.*')).toBe(true);
    expect(matchColumn('*.*.email', '*')).toBe(true);
    expect(matchColumn('*.*.email', 'users.name')).toBe(false);
  });

  it('matches functions with or without schema, ignoring case', () => {
    expect(matchFunction('pg_terminate_backend', 'pg_catalog.pg_terminate_backend')).toBe(true);
    expect(matchFunction('pg_catalog.pg_terminate_backend', 'pg_terminate_backend')).toBe(true);
    expect(matchFunction('PG_SLEEP', 'pg_sleep')).toBe(true);
    expect(matchFunction('dblink*', 'dblink_exec')).toBe(true);
    expect(matchFunction('app.f', 'other.f')).toBe(false);
    expect(matchFunction('pg_sleep', 'pg_sleep_for')).toBe(false);
  });
});

describe('condition keys', () => {
  it.each<[string, RuleCondition, string, boolean]>([
    ['statement list', { statement: ['delete', 'update'] }, 'DELETE FROM t WHERE id = 1', true],
    ['statement miss', { statement: ['delete'] }, 'SELECT 1', false],
    ['object', { statement: ['drop'], object: ['index'] }, 'DROP INDEX i', true],
    ['object miss', { statement: ['drop'], object: ['index'] }, 'DROP TABLE t', false],
    ['effect any', { effect: ['file', 'admin'] }, 'SELECT pg_terminate_backend(1)', true],
    ['effect miss', { effect: ['write'] }, 'SELECT 1', false],
    ['where', { where: ['absent'] }, 'DELETE FROM t', true],
    ['where on select', { where: ['absent'] }, 'SELECT * FROM t', false],
    ['limit absent', { statement: ['select'], limit: ['absent'] }, 'SELECT * FROM t', true],
    ['limit present', { limit: ['absent'] }, 'SELECT * FROM t LIMIT 1', false],
    ['tables', { tables: ['*.secrets'] }, 'SELECT * FROM vault.secrets', true],
    ['tables unqualified', { tables: ['*.secrets'] }, 'SELECT * FROM secrets', true],
    ['tables miss', { tables: ['vault.*'] }, 'SELECT * FROM public.secrets', false],
    ['columns', { columns: ['*.*.salary'] }, 'SELECT e.salary FROM hr.employees e', true],
    ['columns via star', { columns: ['hr.employees.salary'] }, 'SELECT * FROM hr.employees', true],
    ['columns miss', { columns: ['*.*.salary'] }, 'SELECT id FROM hr.employees', false],
    ['functions', { functions: ['pg_sleep'] }, 'SELECT pg_catalog.pg_sleep(10)', true],
    ['functions nested', { functions: ['md5'] }, 'SELECT * FROM t WHERE x IN (SELECT md5(y) FROM u)', true],
    ['multiStatement', { multiStatement: true }, 'SELECT 1; SELECT 2', true],
    ['multiStatement single', { multiStatement: true }, 'SELECT 1', false],
    ['drops', { drops: true }, 'ALTER TABLE t DROP COLUMN c', true],
    ['drops false', { drops: false, statement: ['alter'] }, 'ALTER TABLE t ADD COLUMN c int', true],
    ['access', { access: ['read'] }, 'SELECT 1', false],
    ['access hit', { access: ['write', 'admin'] }, 'SELECT 1', true],
    ['targets', { targets: ['ap*'] }, 'SELECT 1', true],
    ['targets miss', { targets: ['prod'] }, 'SELECT 1', false],
    ['groups', { groups: ['dev', 'dba'] }, 'SELECT 1', true],
    ['groups miss', { groups: ['dba'] }, 'SELECT 1', false],
    ['all keys must match', { statement: ['delete'], tables: ['other'] }, 'DELETE FROM t', false],
    ['empty condition matches all', {}, 'SELECT 1', true],
  ])('%s', (_label, when, sql, want) => {
    expect(matches(when, sql)).toBe(want);
  });
});

describe('evaluate', () => {
  it('allows when nothing matches or there are no statements', () => {
    const sets = [set('s', [rule('r', 'block', { statement: ['drop'] })])];
    expect(evaluate(sets, facts('SELECT 1'), ctx)).toMatchObject({ action: 'allow', rules: [] });
    expect(evaluate(sets, [], ctx)).toEqual({ action: 'allow', rules: [], statements: [] });
  });

  it('picks the strongest action; rules[0] is the first-declared among the strongest', () => {
    const sets = [
      set('a', [rule('warn-all', 'warn', {}), rule('mask-email', 'mask', { columns: ['*.email'] }, { mask: 'email' })]),
      set('b', [rule('review-delete', 'review', { statement: ['delete'] }), rule('block-delete', 'block', { statement: ['delete'] }),
        rule('block-again', 'block', { effect: ['write'] })]),
    ];
    const d = evaluate(sets, facts('SELECT email FROM users; DELETE FROM t WHERE id = 1'), ctx);
    expect(d.action).toBe('block');
    expect(d.rules.map((m) => [m.id, m.statement])).toEqual([
      ['block-delete', 1], ['block-again', 1], ['review-delete', 1], ['mask-email', 0], ['warn-all', 0], ['warn-all', 1],
    ]);
    expect(d.rules[0]).toMatchObject({ ruleset: 'b', action: 'block', message: 'block-delete message' });
    const mask = d.rules.find((m) => m.id === 'mask-email')!;
    expect(mask).toMatchObject({ mask: 'email', columns: ['*.email'] });
  });

  it('orders block > review > mask > warn > allow', () => {
    const order: Rule['action'][] = ['allow', 'warn', 'mask', 'review', 'block'];
    for (let i = 0; i < order.length; i++) {
      const rules = order.slice(0, i + 1).map((a) => rule(a, a, a === 'mask' ? { columns: ['*'] } : {}));
      expect(evaluate([set('s', rules.reverse())], facts('SELECT a FROM t'), ctx).action).toBe(order[i]);
    }
  });

  it('applies unless as an exemption', () => {
    const sets = [set('s', [rule('no-delete', 'block', { statement: ['delete'] }, { unless: { groups: ['dba'] } })])];
    expect(evaluate(sets, facts('DELETE FROM t WHERE id = 1'), ctx).action).toBe('block');
    expect(evaluate(sets, facts('DELETE FROM t WHERE id = 1'), { ...ctx, groups: ['dba'] }).action).toBe('allow');
  });

  it('tests nested statements too', () => {
    const sets = [set('s', [rule('no-audit-writes', 'block', { tables: ['audit.*'], effect: ['write'] })])];
    const d = evaluate(sets, facts('WITH x AS (DELETE FROM audit.log WHERE id = 1 RETURNING *) SELECT * FROM x'), ctx);
    expect(d.action).toBe('block');
    expect(d.rules.map((m) => d.statements[m.statement]!.nested)).toContain(true);
  });

  it('formats the client messages', () => {
    const m = { id: 'drop', ruleset: 's', action: 'block' as const, message: 'no drops', statement: 0 };
    expect(blockedMessage(m)).toBe('dbwarden: blocked by rule drop: no drops');
    expect(decisionMessage(m)).toBe('dbwarden: blocked by rule drop: no drops');
    expect(reviewMessage({ ...m, action: 'review' }, 'rv_1')).toBe('dbwarden: review required (rv_1) by rule drop: no drops');
    expect(decisionMessage({ ...m, action: 'review' }, 'rv_2')).toBe('dbwarden: review required (rv_2) by rule drop: no drops');
    expect(warningMessage({ ...m, action: 'warn' })).toBe('dbwarden: rule drop: no drops');
  });
});
