// The janitor: sessions swept every tick, store-side duties once a second (grant expiry only while the store is
// ready), failures logged and the timer gone after stop().
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Janitor } from '../../../src/session/janitor.js';
import { createLogger } from '../../../src/log.js';

beforeEach(() => void vi.useFakeTimers());
afterEach(() => void vi.useRealTimers());

describe('Janitor', () => {
  it('sweeps sessions each tick and runs the store duties once a second', async () => {
    const calls: string[] = [];
    let ready = true;
    const j = new Janitor({
      sweepSessions: () => calls.push('sweep'),
      expireGrants: { ready: () => ready, run: async () => calls.push('expire') },
      reconcile: async () => void calls.push('reconcile'),
      refreshReviews: async () => calls.push('reviews'),
    });
    j.start(200);
    j.start(200); // a second start does not add a second timer
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toEqual(['sweep', 'sweep', 'sweep', 'sweep', 'sweep', 'expire', 'reconcile', 'reviews']);
    ready = false;
    calls.length = 0;
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls.filter((c) => c !== 'sweep')).toEqual(['reconcile', 'reviews']);
    j.stop();
    calls.length = 0;
    await vi.advanceTimersByTimeAsync(2000);
    expect(calls).toEqual([]);
  });

  it('a failing duty is logged and does not stop the others', async () => {
    const warned: string[] = [];
    const logger = createLogger('silent');
    vi.spyOn(logger, 'warn').mockImplementation(((_o: unknown, msg: string) => void warned.push(msg)) as never);
    let swept = 0;
    const j = new Janitor({
      sweepSessions: () => void swept++,
      expireGrants: { ready: () => true, run: async () => { throw new Error('store down'); } },
      refreshReviews: async () => { throw new Error('store down'); },
    }, logger);
    j.start(500);
    await vi.advanceTimersByTimeAsync(2000);
    j.stop();
    expect(swept).toBe(4);
    expect(warned).toEqual(['expiry sweep failed', 'review refresh failed', 'expiry sweep failed', 'review refresh failed']);
  });
});
