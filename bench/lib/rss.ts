// Samples a process's resident memory (VmRSS from /proc/PID/status) to show whether a proxy buffers result sets.
import { readFileSync } from 'node:fs';

/** Resident set size in KiB, or undefined when the process is gone or /proc is unavailable. */
export function readRssKb(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

export interface RssWindow {
  beforeKb: number | undefined;
  peakKb: number | undefined;
}

/** Reads RSS now, then every `everyMs` until stop(); stop() returns the first reading and the peak. */
export function sampleRss(pid: number, everyMs = 25): { stop(): RssWindow } {
  const beforeKb = readRssKb(pid);
  let peakKb = beforeKb;
  const timer = setInterval(() => {
    const kb = readRssKb(pid);
    if (kb !== undefined && (peakKb === undefined || kb > peakKb)) peakKb = kb;
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      const kb = readRssKb(pid);
      if (kb !== undefined && (peakKb === undefined || kb > peakKb)) peakKb = kb;
      return { beforeKb, peakKb };
    },
  };
}
