// The embedded PostgreSQL target of `dbwarden demo`: PGlite (in memory or on disk) served over TCP by pglite-socket.
//
// What @electric-sql/pglite-socket 0.2.x does (read from its README and dist/index.d.ts / src/index.ts):
// - Connections: `maxConnections` defaults to 1 and is set as net.Server.maxConnections, so a second client
//   is closed by Node before a single byte is exchanged. We raise it. Concurrent clients are multiplexed onto
//   PGlite's ONE backend session: messages run one at a time from a shared queue, and while one connection
//   has a transaction open only its own messages run (the others wait). Session state (SET, temporary
//   tables, named prepared statements, advisory locks) is shared by all connections. A connection that
//   closes inside a transaction gets a ROLLBACK.
// - Auth: none. The startup message is answered with AuthenticationOk whatever user, password or database
//   it names; every session is user `postgres` in database `postgres`. Therefore we only ever bind loopback,
//   and the demo's per-access-level upstream roles are nominal: the broker's rules are the only guardrail.
// - TLS: an SSLRequest is answered 'N' (sslmode=prefer falls back to plain; sslmode=require fails).
// - CancelRequest: read and dropped; the broker's upstream cancel has no effect on this target.
// - PGlite runs a statement as one synchronous WASM call: it runs in a worker thread (pglite-worker.ts) so a long
//   demo statement stalls only that thread, never the broker's admin API or other sessions' bytes.
import { Worker } from 'node:worker_threads';
import type { FromWorker, PgliteWorkerData } from './pglite-worker.js';

export interface PgliteTargetOptions {
  /** on-disk data directory; in memory when omitted */
  dataDir?: string;
  /** default 127.0.0.1; keep it on loopback (the server has no authentication) */
  host?: string;
  /** default 0: a free port chosen by the OS */
  port?: number;
  /** concurrent client connections, default 32 */
  maxConnections?: number;
}

export interface PgliteTarget {
  host: string;
  port: number;
  /** PGlite ignores the startup user and database; these are the ones every session really has */
  user: 'postgres';
  database: 'postgres';
  /** true when this start created the demo schema */
  seeded: boolean;
  close(): Promise<void>;
}

/**
 * The worker: the compiled pglite-worker.js next to this file; under tsx/vitest (running from the .ts sources) a
 * small bootstrap registers tsx in the worker first, since a worker does not inherit the parent's loader.
 */
function startWorker(workerData: PgliteWorkerData): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./pglite-worker.js', import.meta.url), { workerData });
  const entry = JSON.stringify(new URL('./pglite-worker.ts', import.meta.url).href);
  return new Worker(`import('tsx/esm/api').then(({ register }) => { register(); return import(${entry}); })`, { eval: true, workerData });
}

export async function startPgliteTarget(options: PgliteTargetOptions = {}): Promise<PgliteTarget> {
  const host = options.host ?? '127.0.0.1';
  const data: PgliteWorkerData = { host, port: options.port ?? 0, maxConnections: options.maxConnections ?? 32, ...(options.dataDir ? { dataDir: options.dataDir } : {}) };
  const worker = startWorker(data);
  const exited = new Promise<void>((r) => worker.once('exit', () => r()));
  const ready = await new Promise<{ port: number; seeded: boolean }>((resolve, reject) => {
    worker.once('message', (m: FromWorker) => {
      if (m.type === 'ready') resolve(m);
      else reject(new Error(m.type === 'error' ? `embedded PostgreSQL did not start: ${m.message}` : 'embedded PostgreSQL did not start'));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`embedded PostgreSQL worker exited (code ${code}) before it was ready`)));
  });
  worker.on('error', () => undefined);
  let closing: Promise<void> | undefined;
  return {
    host,
    port: ready.port,
    user: 'postgres',
    database: 'postgres',
    seeded: ready.seeded,
    close() {
      closing ??= (async () => {
        worker.postMessage({ type: 'close' });
        // the worker closes PGlite (flushing the data folder) and exits; a worker stuck in a statement is ended
        const t = setTimeout(() => void worker.terminate(), 30_000);
        await exited;
        clearTimeout(t);
      })();
      return closing;
    },
  };
}
