// Picks a TCP port on 127.0.0.1 for a server that a test or a benchmark starts (often in a child process).
//
// Why not "listen on port 0, read the port, close": the kernel takes that port from the ephemeral range, the same
// range it hands to every outgoing connection on the machine. Between the close and the child's own bind, any
// connect() (a pool opening to PostgreSQL, a fetch) can take it as its local port, and the child then fails with
// EADDRINUSE. A loaded CI run hit exactly this. Ports below the ephemeral range are only ever taken by an explicit
// bind, so the window shrinks to other test servers, which these rules keep apart:
// - each vitest worker draws from its own slice of the range (VITEST_POOL_ID), so parallel files never pick alike;
// - within a process, ports are handed out once, walking the slice from a random start;
// - every candidate is bound on 127.0.0.1 before it is handed out, which skips ports a service already holds.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const SLICES = 8;

function portRange(): [number, number] {
  let low = 32768;
  let high = 60999;
  try {
    [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number) as [number, number];
  } catch {
    // not Linux: keep the Linux default
  }
  // below the ephemeral range when it leaves room (Linux's default does), above it otherwise
  if (low - 12_000 >= 10_000) return [low - 12_000, low];
  if (65_535 - high >= 4_000) return [high + 1, 65_536];
  return [10_000, 22_000];
}

const [rangeLow, rangeHigh] = portRange();
const sliceSize = Math.floor((rangeHigh - rangeLow) / SLICES);
const slice = Number(process.env.VITEST_POOL_ID ?? 0) % SLICES;
const sliceLow = rangeLow + slice * sliceSize;
let next = Math.floor(Math.random() * sliceSize);
const handedOut = new Set<number>();

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ port, host: '127.0.0.1', exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/** A port on 127.0.0.1 nothing listens on now, outside the range outgoing connections draw from. */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < sliceSize; tries++) {
    const port = sliceLow + (next++ % sliceSize);
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port left in ${sliceLow}-${sliceLow + sliceSize - 1}`);
}
