// Error and notice redaction while masks apply: quoted values and numbers the server computed go, names stay.
import { describe, expect, it } from 'vitest';
import { redactField } from '../../../src/pg/error-redaction.js';

describe('redactField', () => {
  it.each([
    ['M', 'requested character too large for encoding: 1114234', 'requested character too large for encoding: [redacted]'],
    ['M', 'date field value out of range: 122-13-01', 'date field value out of range: [redacted]-[redacted]-[redacted]'],
    ['M', 'transaction ID 122000000000000 is in the future', 'transaction ID [redacted] is in the future'],
    ['M', 'timestamp out of range: 1.22e+17', 'timestamp out of range: [redacted]'],
    ['D', 'Cannot enlarge string buffer containing 0 bytes by 2900000000 more bytes.', 'Cannot enlarge string buffer containing [redacted] bytes by [redacted] more bytes.'],
  ])('%s %s: numbers computed from values go', (code, text, out) => {
    expect(redactField(code, text)).toBe(out);
  });

  it('names with digits and routine code places stay', () => {
    expect(redactField('M', 'function int4(text) does not exist')).toBe('function int4(text) does not exist');
    expect(redactField('M', 'there is no parameter $1')).toBe('there is no parameter $1');
    expect(redactField('W', 'PL/pgSQL function inline_code_block line 3 at RAISE')).toBe('PL/pgSQL function inline_code_block line 3 at RAISE');
  });
});
