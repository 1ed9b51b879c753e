// Exact decimal folding (issue 12, family d): the server's arithmetic, never binary floating point.
import { describe, expect, it } from 'vitest';
import { arith, compare, parseExact, roundToInteger } from '../../../src/sql/exact-number.js';

const n = (s: string) => {
  const v = parseExact(s);
  if (!v) throw new Error(`not a number: ${s}`);
  return v;
};

describe('exact numbers', () => {
  it('adds decimals exactly (0.1 + 0.2 = 0.3)', () => {
    expect(compare(arith('+', n('0.1'), n('0.2'))!, n('0.3'))).toBe(0);
  });
  it('keeps bigints beyond 2^53 apart', () => {
    expect(compare(n('9007199254740993'), n('9007199254740992'))).toBe(1);
  });
  it('truncates integer division toward zero and keeps the dividend sign in remainders', () => {
    expect(arith('/', n('7'), n('2'))!.toString()).toBe('3');
    expect(arith('/', n('-7'), n('2'))!.toString()).toBe('-3');
    expect(arith('%', n('-7'), n('2'))!.toString()).toBe('-1');
  });
  it('does not fold what it cannot do exactly: decimal division, division by zero, int8 overflow, MySQL /', () => {
    expect(arith('/', n('1.0'), n('3'))).toBeUndefined();
    expect(arith('/', n('1'), n('0'))).toBeUndefined();
    expect(arith('*', n('9223372036854775807'), n('2'))).toBeUndefined();
    expect(arith('/', n('7'), n('2'), false)).toBeUndefined();
  });
  it('reads exponents and scales, prints with the scale', () => {
    expect(n('1e3').toString()).toBe('1000');
    expect(n('1.50').toString()).toBe('1.50');
    expect(n('-.5').toString()).toBe('-0.5');
    expect(arith('*', n('1.5'), n('1.5'))!.toString()).toBe('2.25');
    expect(parseExact('0x31')).toBeUndefined();
    expect(parseExact('nan')).toBeUndefined();
  });
  it('rounds half away from zero to an integer', () => {
    expect(roundToInteger(n('1.5'))!.toString()).toBe('2');
    expect(roundToInteger(n('-1.5'))!.toString()).toBe('-2');
    expect(roundToInteger(n('2.4'))!.toString()).toBe('2');
  });
});
