// Reads a process's consumed CPU time from /proc/PID/stat: the proxy's cost per statement, independent of machine load.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** utime + stime in milliseconds, or undefined when the process is gone or /proc is unavailable. */
export function readCpuMs(pid: number): number | undefined {
  try {
    return parseCpuMs(readFileSync(`/proc/${pid}/stat`, 'utf8'), clockTicks());
  } catch {
    return undefined;
  }
}

/**
 * The command name (field 2) is in parentheses and may itself contain spaces or ')', so fields are counted
 * from the last ')'. utime and stime are fields 14 and 15.
 */
export function parseCpuMs(stat: string, ticks: number): number | undefined {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state), so field n is rest[n - 3]
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return ((utime + stime) * 1000) / ticks;
}
