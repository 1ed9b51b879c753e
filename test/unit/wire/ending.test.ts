// The shared ending sequence: fatal at a boundary or cut after the grace, hang-up only after the interruption.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ENDING_GRACE, runEnding, type EndingSteps } from '../../../src/wire/ending.js';

function steps(atBoundary: boolean, cancel: Promise<unknown> = Promise.resolve()) {
  const log: string[] = [];
  const s: EndingSteps = {
    cancelUpstream: () => (log.push('cancel'), cancel),
    atBoundary: () => atBoundary,
    finishClient: (cut) => void log.push(cut ? 'cut' : 'fatal'),
    hangUp: () => void log.push('hangup'),
    destroy: () => void log.push('destroy'),
  };
  return { s, log };
}

describe('runEnding', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('at a boundary: cancel, fatal at once, hang up, destroy after the grace', async () => {
    const { s, log } = steps(true);
    runEnding(s);
    await vi.advanceTimersByTimeAsync(0);
    expect(log).toEqual(['cancel', 'fatal', 'hangup']);
    await vi.advanceTimersByTimeAsync(ENDING_GRACE.hangUpMs);
    expect(log.slice(-1)).toEqual(['destroy']);
  });

  it('mid-message: the fatal waits for the boundary the protocol reports', async () => {
    const { s, log } = steps(false);
    const run = runEnding(s);
    await vi.advanceTimersByTimeAsync(100);
    expect(log).toEqual(['cancel']);
    run.finish(false);
    await vi.advanceTimersByTimeAsync(0);
    expect(log).toEqual(['cancel', 'fatal', 'hangup']);
  });

  it('no boundary within the grace: the client is cut; the hang-up waits for the interruption to land', async () => {
    let landed!: () => void;
    const { s, log } = steps(false, new Promise<void>((r) => (landed = r)));
    runEnding(s);
    await vi.advanceTimersByTimeAsync(ENDING_GRACE.boundaryMs);
    expect(log).toEqual(['cancel', 'cut']);
    landed();
    await vi.advanceTimersByTimeAsync(0);
    expect(log).toEqual(['cancel', 'cut', 'hangup']);
  });

  it('a failed interruption still ends the session', async () => {
    const { s, log } = steps(true, Promise.reject(new Error('kill failed')));
    runEnding(s);
    await vi.advanceTimersByTimeAsync(0);
    expect(log).toEqual(['cancel', 'fatal', 'hangup']);
  });
});
