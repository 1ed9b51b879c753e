// Reading utime + stime from /proc/PID/stat, including command names that contain spaces and parentheses.
import { describe, expect, it } from 'vitest';
import { parseCpuMs, readCpuMs } from '../../../bench/lib/cpu-time.js';

// fields 14 (utime) = 250 and 15 (stime) = 50 ticks
const line = (comm: string) => `9115 (${comm}) R 9111 9111 14011 0 -1 4194304 100 0 0 0 250 50 0 0 20 0 1 0 204608 3133440 382`;

describe('parseCpuMs', () => {
  it('adds utime and stime and converts ticks to milliseconds', () => {
    expect(parseCpuMs(line('node'), 100)).toBe(3000);
    expect(parseCpuMs(line('node'), 1000)).toBe(300);
  });

  it('counts fields from the last parenthesis, so odd command names do not shift them', () => {
    expect(parseCpuMs(line('my (odd) proc'), 100)).toBe(3000);
  });

  it('is undefined for a truncated line', () => {
    expect(parseCpuMs('1 (x) R 1 2', 100)).toBeUndefined();
  });
});

describe('readCpuMs', () => {
  it('reads a live process and grows as it works', () => {
    const before = readCpuMs(process.pid);
    expect(before).toBeGreaterThanOrEqual(0);
    // busy until the kernel has charged at least one more tick (bounded, so a broken reader fails, not hangs)
    const until = Date.now() + 3000;
    let now = before!;
    while (now <= before! && Date.now() < until) {
      for (let i = 0; i < 1e5; i++) Math.sqrt(i);
      now = readCpuMs(process.pid)!;
    }
    expect(now).toBeGreaterThan(before!);
  });

  it('is undefined for a process that does not exist', () => {
    expect(readCpuMs(2 ** 22 + 1)).toBeUndefined();
  });
});
