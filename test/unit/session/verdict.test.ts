// The core's refusal for both protocols: one text per verdict, a BRK_* code each protocol maps to its own numbers.
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/errors.js';
import { refusalFields } from '../../../src/pg/relay.js';
import { refusalMessage } from '../../../src/mysql/relay.js';
import { ERRNO_OF } from '../../../src/mysql/codes.js';
import { SQLSTATE_OF } from '../../../src/pg/codes.js';
import type { StatementFacts } from '../../../src/sql/facts.js';
import { refusalOf, refuses, type Decision } from '../../../src/session/verdict.js';

const st = (over: Partial<StatementFacts> = {}): StatementFacts =>
  ({ kind: 'delete', effects: ['write'], tables: [], columns: [], functions: [], where: null, limit: null, nested: false, multiStatement: false, index: 0, ...over }) as StatementFacts;
const rule = (action: Decision['action'], message = 'add a WHERE') => ({ id: 'r1', ruleset: 's', action, message, statement: 0 });

describe('refuses()', () => {
  const table: [Decision['action'], boolean, boolean][] = [
    ['block', true, true], ['review', true, true], ['mask', true, false], ['mask', false, true], ['warn', false, false], ['allow', false, false],
  ];
  for (const [action, canMask, want] of table) {
    it(`${action} with${canMask ? '' : 'out'} a row masker → ${want ? 'refused' : 'carried out'}`, () => {
      expect(refuses({ action, rules: [], statements: [] }, canMask)).toBe(want);
    });
  }
});

describe('refusalOf()', () => {
  const cases: { name: string; d: Decision; code: string; message: string; hint?: string; mysql: string }[] = [
    {
      name: 'block', d: { action: 'block', rules: [rule('block')], statements: [st()] }, code: ErrorCode.STATEMENT_BLOCKED,
      message: 'dbwarden: blocked by rule r1: add a WHERE', mysql: 'dbwarden: blocked by rule r1: add a WHERE',
    },
    {
      name: 'unreadable text says why', d: { action: 'block', rules: [rule('block', 'cannot read')], statements: [st({ kind: 'unparsed', error: 'NUL byte in text' })] },
      code: ErrorCode.STATEMENT_BLOCKED, message: 'dbwarden: blocked by rule r1: cannot read (NUL byte in text)', mysql: 'dbwarden: blocked by rule r1: cannot read (NUL byte in text)',
    },
    {
      name: 'review filed', d: { action: 'review', rules: [rule('review', 'big change')], statements: [st()], review: { id: 'rv_1' } } as Decision, code: ErrorCode.REVIEW_REQUIRED,
      message: 'dbwarden: review required (rv_1) by rule r1: big change', hint: 'an approver can let this exact statement run once within 15 minutes: dbwarden review approve rv_1',
      mysql: 'dbwarden: review required (rv_1) by rule r1: big change (an approver can let this exact statement run once within 15 minutes: dbwarden review approve rv_1)',
    },
    {
      name: 'review without reviews', d: { action: 'review', rules: [rule('review', 'big change')], statements: [st()] }, code: ErrorCode.REVIEW_REQUIRED,
      message: 'dbwarden: review required by rule r1: big change (statement reviews are not enabled on this broker)',
      mysql: 'dbwarden: review required by rule r1: big change (statement reviews are not enabled on this broker)',
    },
    {
      name: 'mask that cannot be carried out', d: { action: 'mask', rules: [rule('mask', 'pii')], statements: [st({ kind: 'select' })] }, code: ErrorCode.STATEMENT_BLOCKED,
      message: 'dbwarden: blocked by rule r1: pii — masked columns cannot be copied or exported', mysql: 'dbwarden: blocked by rule r1: pii — masked columns cannot be copied or exported',
    },
  ];
  for (const c of cases) {
    it(`${c.name}: one text, encoded by each protocol from its BRK_* code`, () => {
      const r = refusalOf(c.d);
      expect(r.code).toBe(c.code);
      expect(r.message).toBe(c.message);
      expect(r.hint).toBe(c.hint);
      expect(refusalMessage(c.d)).toBe(c.mysql);
      const pg = refusalFields(c.d);
      expect(pg).toMatchObject({ code: SQLSTATE_OF[r.code], message: c.message, routine: 'dbwarden_guardrail' });
      expect(pg.hint).toBe(c.hint ?? 'refused by a dbwarden guardrail rule, not by a database privilege: ask for a review or a grant whose rules allow it');
      expect(ERRNO_OF[r.code]?.errno).toBe(1227);
    });
  }

  it('PostgreSQL text its server rejects gets the server syntax error with position', () => {
    const d: Decision = { action: 'block', rules: [rule('block', 'unparsed')], statements: [st({ kind: 'unparsed', error: 'syntax error at or near "SELEC"', syntaxError: { position: 1 } } as Partial<StatementFacts>)] };
    expect(refusalFields(d)).toMatchObject({ code: '42601', message: 'syntax error at or near "SELEC"', position: 1 });
    // not a guardrail refusal: no dbwarden_ routine, no guardrail hint (docs/client-errors.md)
    expect(refusalFields(d).routine).toBeUndefined();
    expect(refusalFields(d).hint).toBeUndefined();
  });
});
