// Mask functions and the per-session mask list.
import { describe, expect, it } from 'vitest';
import { columnMasks, type ColumnMask } from '../../../src/rules/mask.js';
import { maskFor, maskText, strictestMask } from '../../../src/session/mask.js';
import { parseRuleSet } from '../../../src/rules/load.js';

const key = Buffer.alloc(32, 7);

describe('maskText', () => {
  it('applies each mask kind without revealing more than it promises', () => {
    expect(maskText('redact', 'secret', key)).toBe('[redacted]');
    expect(maskText('null', 'secret', key)).toBeNull();
    expect(maskText('partial', '4111111111111111', key)).toBe('************1111');
    expect(maskText('partial', 'abc', key)).toBe('***');
    expect(maskText('email', 'alice@example.com', key)).toBe('a***@example.com');
    expect(maskText('email', 'not-an-email', key)).toBe('[redacted]');
  });

  it('hash is stable under one key (joins line up) and differs under another', () => {
    const a = maskText('hash', 'alice@example.com', key);
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(maskText('hash', 'alice@example.com', key)).toBe(a);
    expect(maskText('hash', 'alice@example.com', Buffer.alloc(32, 8))).not.toBe(a);
    expect(maskText('hash', 'bob@example.com', key)).not.toBe(a);
  });
});

describe('column masks for a session', () => {
  const { ruleset } = parseRuleSet(`ruleset: m
rules:
  - id: mask-email
    when: { columns: ["*.*.email"] }
    action: mask
    mask: email
  - id: mask-ssn-for-devs
    when: { columns: ["*.*.ssn"], groups: [dev] }
    action: mask
    mask: redact
  - id: block-drop
    when: { statement: [drop] }
    action: block
`, 'm.yaml') as { ruleset: NonNullable<ReturnType<typeof parseRuleSet>['ruleset']> };

  it('keeps mask rules whose session conditions hold and matches qualified columns', () => {
    const dev = columnMasks([ruleset], { dialect: 'postgres', access: 'read', target: 'app', groups: ['dev'] });
    const dba = columnMasks([ruleset], { dialect: 'postgres', access: 'read', target: 'app', groups: ['dba'] });
    expect(dev.map((m) => m.ruleId)).toEqual(['mask-email', 'mask-ssn-for-devs']);
    expect(dba.map((m) => m.ruleId)).toEqual(['mask-email']);
    expect(maskFor(dev, 'public.users.email')?.mask).toBe('email');
    expect(maskFor(dev, 'public.users.name')).toBeUndefined();
    expect(strictestMask(dev)).toBe('redact');
  });
});

describe('maskFor memo', () => {
  it('answers as the globs do, per masks array, and starts over when the array changed length', () => {
    const email = { ruleId: 'e', mask: 'email' as const, columns: ['*.*.email'] };
    const ssn = { ruleId: 's', mask: 'redact' as const, columns: ['*.users.ssn'] };
    const masks: ColumnMask[] = [email];
    expect(maskFor(masks, 'public.users.email')).toBe(email);
    expect(maskFor(masks, 'public.users.ssn')).toBeUndefined();
    expect(maskFor(masks, 'public.users.ssn')).toBeUndefined();
    // another array with other masks never shares the first one's answers
    expect(maskFor([ssn], 'public.users.ssn')).toBe(ssn);
    expect(maskFor([ssn], 'public.users.email')).toBeUndefined();
    masks.push(ssn);
    expect(maskFor(masks, 'public.users.ssn')).toBe(ssn);
    // many distinct names (client-chosen aliases on MySQL) keep answering right past the memo's bound
    for (let i = 0; i < 5000; i++) expect(maskFor(masks, `db.t${i}.email`)).toBe(email);
    expect(maskFor(masks, 'db.t1.name')).toBeUndefined();
  });
});
