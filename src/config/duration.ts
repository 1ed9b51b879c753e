// Duration strings used for TTLs and limits ("90s", "30m", "2h30m", "1d") and their inverse.
import { BrokerError, ErrorCode } from '../errors.js';

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;
type Unit = keyof typeof UNIT_MS;
/** Units from largest to smallest; parse requires this order so "30m1h" is rejected as a likely typo. */
const ORDER: readonly Unit[] = ['d', 'h', 'm', 's', 'ms'];
const PART = /(\d+)(ms|d|h|m|s)/y;
/** Far beyond any sensible TTL, but small enough that ms arithmetic stays exact. */
const MAX_MS = 366 * UNIT_MS.d;

/**
 * Milliseconds of a positive duration such as "90s", "30m", "1h", "2h30m" or "1d".
 * Throws BrokerError(BRK_BAD_REQUEST) on anything else, including zero and bare numbers.
 */
export function parseDuration(text: string): number {
  const bad = (why: string) =>
    new BrokerError(ErrorCode.BAD_REQUEST, `invalid duration ${JSON.stringify(text)}: ${why}`, {
      hint: 'use a number followed by d, h, m or s, for example 90s, 30m, 2h30m or 1d',
    });
  if (typeof text !== 'string' || text.trim() === '') throw bad('empty');
  const s = text.trim();
  let ms = 0;
  let pos = 0;
  let lastUnit = -1;
  PART.lastIndex = 0;
  while (pos < s.length) {
    PART.lastIndex = pos;
    const m = PART.exec(s);
    if (!m) throw bad('expected a number followed by d, h, m, s or ms');
    const unitIndex = ORDER.indexOf(m[2] as Unit);
    if (unitIndex <= lastUnit) throw bad('units must appear once each, largest first');
    lastUnit = unitIndex;
    ms += Number(m[1]) * UNIT_MS[m[2] as Unit];
    pos = PART.lastIndex;
  }
  if (ms <= 0) throw bad('must be greater than zero');
  if (ms > MAX_MS) throw bad('longer than 366 days');
  return ms;
}

/** Compact form of a millisecond count, e.g. 9_000_000 → "2h30m", 90_000 → "1m30s", 0 → "0s". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return '0s';
  let rest = Math.round(ms);
  let out = '';
  for (const unit of ORDER) {
    const n = Math.floor(rest / UNIT_MS[unit]);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * UNIT_MS[unit];
    }
  }
  return out;
}
