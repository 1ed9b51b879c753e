// Error and notice redaction while masks apply: quoted values and numbers the server computed go, names stay.
import { describe, expect, it } from 'vitest';
import { RAISED_IN_ROUTINE, redactErrorMessage, redactField } from '../../../src/pg/error-redaction.js';

describe('redactField', () => {
  it.each([
    ['M', 'requested character too large for encoding: 1114234', 'requested character too large for encoding: [redacted]'],
    ['M', 'date field value out of range: 122-13-01', 'date field value out of range: [redacted]'],
    ['M', 'transaction ID 122000000000000 is in the future', 'transaction ID [redacted] is in the future'],
    ['M', 'timestamp out of range: 1.22e+17', 'timestamp out of range: [redacted]'],
    ['D', 'Cannot enlarge string buffer containing 0 bytes by 2900000000 more bytes.', 'Cannot enlarge string buffer containing [redacted] bytes by [redacted] more bytes.'],
  ])('%s %s: numbers computed from values go', (code, text, out) => {
    expect(redactField(code, text)).toBe(out);
  });

  // NameListToString prints names unquoted: casts of a value to reg* types echo it after a colon
  it.each([
    ['M', 'operator does not exist: zed.mark@secret.example', 'operator does not exist: [redacted]'],
    ['M', 'operator does not exist: jih-gf-edcb', 'operator does not exist: [redacted]'],
    ['M', 'improper relation name (too many dotted names): zed.mark@secret.example.x', 'improper relation name (too many dotted names): [redacted]'],
    ['M', 'cross-database references are not implemented: zed.mark@secret.example', 'cross-database references are not implemented: [redacted]'],
    ['M', 'improper qualified name (too many dotted names): a.b.c.zed_mark', 'improper qualified name (too many dotted names): [redacted]'],
    ['D', 'Unknown thing: zed.mark\nmore: lines', 'Unknown thing: [redacted]'],
    ['M', 'cross-database references are not implemented: "x.y.zedmark"', 'cross-database references are not implemented: "[redacted]"'],
  ])('%s %s: whatever follows a colon goes', (code, text, out) => {
    expect(redactField(code, text.replace('\\n', '\n'))).toBe(out);
  });

  it('names with digits and routine code places stay', () => {
    expect(redactField('M', 'function int4(text) does not exist')).toBe('function int4(text) does not exist');
    expect(redactField('M', 'there is no parameter $1')).toBe('there is no parameter $1');
    expect(redactField('W', 'PL/pgSQL function inline_code_block line 3 at RAISE')).toBe('PL/pgSQL function inline_code_block line 3 at RAISE');
  });
});

describe('redactErrorMessage', () => {
  const msg = (fields: [string, string][]) => Buffer.concat([...fields.map(([k, v]) => Buffer.from(`${k}${v}\0`)), Buffer.from([0])]);
  const fieldsOf = (out: Buffer) => out.subarray(5, out.length - 1).toString().split('\0').filter(Boolean);
  it('text raised in routine code goes whole: message, detail and hint; SQLSTATE and CONTEXT stay', () => {
    const out = redactErrorMessage(0x4e, msg([['S', 'NOTICE'], ['C', '00000'], ['M', 'processing zed@x'], ['D', 'zed@x'], ['W', 'PL/pgSQL function log_it(text) line 1 at RAISE']]))!;
    expect(fieldsOf(out)).toEqual(['SNOTICE', 'C00000', `M${RAISED_IN_ROUTINE}`, `D${RAISED_IN_ROUTINE}`, 'WPL/pgSQL function log_it(text) line 1 at RAISE']);
    const sql = redactErrorMessage(0x45, msg([['S', 'ERROR'], ['C', 'P0001'], ['M', 'zed@x'], ['W', 'SQL function "f" statement 1']]))!;
    expect(fieldsOf(sql)).toContain(`M${RAISED_IN_ROUTINE}`);
  });
  it('a server error outside routine code keeps its message', () => {
    expect(redactErrorMessage(0x45, msg([['S', 'ERROR'], ['C', '22012'], ['M', 'division by zero']]))).toBeNull();
  });
});
