// The audit keys of dbwarden.yaml: statementText and maxBytes (rotation), with their defaults and limits.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';

const parse = (audit: string) => parseConfig(`state: { dir: /tmp/dbw-state }\naudit:\n${audit}\n`, 'dbwarden.yaml', { SIZE: '1048576' });

describe('audit config', () => {
  it('defaults: full text, rotation at 64 MiB keeping 10 files, the file in state.dir', () => {
    const c = parseConfig('state: { dir: /tmp/dbw-state }\n', 'dbwarden.yaml', {});
    expect(c.audit).toEqual({ file: '/tmp/dbw-state/audit.jsonl', statementText: 'full', maxBytes: 64 << 20, keep: 10, maxStatementBytes: 1 << 20 });
  });

  it('takes maxBytes as a number or ${ENV} and statementText normalized', () => {
    expect(parse('  maxBytes: 65536\n  statementText: normalized').audit).toMatchObject({ maxBytes: 65536, statementText: 'normalized' });
    expect(parse('  maxBytes: ${SIZE}').audit.maxBytes).toBe(1048576);
  });

  it('refuses a tiny, negative or non-numeric maxBytes and unknown keys, naming the line', () => {
    expect(() => parse('  maxBytes: 100')).toThrow(/audit\.maxBytes/);
    expect(() => parse('  maxBytes: -1')).toThrow(/audit\.maxBytes/);
    expect(() => parse('  maxBytes: lots')).toThrow(/audit\.maxBytes/);
    expect(() => parse('  maxFiles: 3')).toThrow(/maxFiles/);
    expect(() => parse('  keep: -1')).toThrow(/audit\.keep/);
    expect(parse('  maxBytes: 0\n  keep: 0').audit).toMatchObject({ maxBytes: 0, keep: 0 });
  });
});
