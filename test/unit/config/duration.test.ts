// Tests for duration parsing and formatting.
import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../../src/config/duration.js';
import { BrokerError } from '../../../src/errors.js';

describe('parseDuration', () => {
  it.each([
    ['90s', 90_000],
    ['30m', 1_800_000],
    ['1h', 3_600_000],
    ['2h30m', 9_000_000],
    ['1d', 86_400_000],
    ['1d2h3m4s', 93_784_000],
    ['500ms', 500],
    [' 15m ', 900_000],
  ])('%s → %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '30', 'm', '1x', '30m1h', '1h1h', '-5m', '1.5h', '0s', '0h0m', '1h 30m', '400d'])('rejects %j', (text) => {
    let err: unknown;
    try {
      parseDuration(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BrokerError);
    expect((err as BrokerError).code).toBe('BRK_BAD_REQUEST');
    expect((err as BrokerError).message).toContain(JSON.stringify(text));
  });
});

describe('formatDuration', () => {
  it.each([
    [9_000_000, '2h30m'],
    [90_000, '1m30s'],
    [86_400_000, '1d'],
    [1_500, '1s500ms'],
    [0, '0s'],
  ])('%d → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('round-trips through parseDuration', () => {
    for (const ms of [1_000, 61_000, 3_601_000, 90_061_000, 7_200_000]) {
      expect(parseDuration(formatDuration(ms))).toBe(ms);
    }
  });
});
