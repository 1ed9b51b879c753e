// Starts the bare Node relay (bench/lib/bare-relay.mjs) as a child in front of a database: the benchmarks' floor arm.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep } from './broker-process.js';
import type { ChildSet } from './children.js';

export interface RelayProcess {
  pid: number;
  port: number;
}

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'bare-relay.mjs');

/**
 * Runs `node bare-relay.mjs host port [cert key]` (optionally with node flags) and waits for the port it listens on.
 * With `tls` it terminates client TLS (PostgreSQL SSLRequest, then a TLS handshake) like the broker does.
 */
export async function startRelayProcess(
  children: ChildSet,
  upstream: { host: string; port: number },
  nodeArgs: string[] = [],
  tls?: { certFile: string; keyFile: string },
): Promise<RelayProcess> {
  const { child, output } = children.start(process.execPath, [...nodeArgs, SCRIPT, upstream.host, String(upstream.port), ...(tls ? [tls.certFile, tls.keyFile] : [])]);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const m = /listening (\d+)/.exec(output());
    if (m) return { pid: child.pid!, port: Number(m[1]) };
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`relay exited (${child.exitCode ?? child.signalCode}): ${output().slice(-1000)}`);
    if (Date.now() > deadline) throw new Error('relay not listening after 10 s');
    await sleep(20);
  }
}
