// Median, ratio and number formatting used by the benchmark report.
import { describe, expect, it } from 'vitest';
import { fmt, fmtInt, median, ratio } from '../../../bench/lib/stats.js';

describe('median', () => {
  it('takes the middle value of an odd count regardless of order', () => {
    expect(median([9, 1, 5])).toBe(5);
  });
  it('averages the middle two of an even count', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
  it('is NaN for no rounds', () => {
    expect(median([])).toBeNaN();
  });
  it('does not reorder its input', () => {
    const runs = [3, 1, 2];
    median(runs);
    expect(runs).toEqual([3, 1, 2]);
  });
});

describe('ratio and formatting', () => {
  it('divides, and is NaN when a side is missing or zero', () => {
    expect(ratio(50, 200)).toBe(0.25);
    expect(ratio(undefined, 2)).toBeNaN();
    expect(ratio(1, 0)).toBeNaN();
  });
  it('prints n/a for missing values', () => {
    expect(fmt(Number.NaN, 2)).toBe('n/a');
    expect(fmt(0.1234, 2)).toBe('0.12');
    expect(fmtInt(12345.6)).toBe('12,346');
    expect(fmtInt(undefined)).toBe('n/a');
  });
});
