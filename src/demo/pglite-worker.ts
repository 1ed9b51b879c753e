// The demo's embedded PostgreSQL, running in a worker thread of its own: PGlite executes a statement as one
// synchronous WASM call, so on the broker's thread a long statement (pg_sleep, a big generate_series) would stall
// the admin API, the janitor and every other session's bytes until it finished. Here it stalls only this thread.
// Started by pglite-target.ts; talks to it through messages (ready / error / close / closed).
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { SEED_SQL } from './seed.js';

export interface PgliteWorkerData {
  dataDir?: string;
  host: string;
  port: number;
  maxConnections: number;
}

export type FromWorker = { type: 'ready'; port: number; seeded: boolean } | { type: 'error'; message: string } | { type: 'closed' };

async function seedIfEmpty(db: PGlite): Promise<boolean> {
  const r = await db.query<{ present: boolean }>(`SELECT to_regclass('public.customers') IS NOT NULL AS present`);
  if (r.rows[0]?.present) return false;
  await db.exec(SEED_SQL);
  return true;
}

async function main(): Promise<void> {
  const port = parentPort!;
  const o = workerData as PgliteWorkerData;
  const send = (m: FromWorker) => port.postMessage(m);
  let db: PGlite | undefined;
  let server: PGLiteSocketServer | undefined;
  try {
    db = await PGlite.create(o.dataDir);
    const seeded = await seedIfEmpty(db);
    server = new PGLiteSocketServer({ db, host: o.host, port: o.port, maxConnections: o.maxConnections });
    await server.start();
    // getServerConn() is "host:port" with the port the OS picked when we asked for 0
    send({ type: 'ready', port: Number(server.getServerConn().split(':').pop()), seeded });
  } catch (e) {
    await server?.stop().catch(() => undefined);
    await db?.close().catch(() => undefined);
    send({ type: 'error', message: (e as Error).message ?? String(e) });
    port.close();
    return;
  }
  port.on('message', (m: { type: string }) => {
    if (m.type !== 'close') return;
    void (async () => {
      await server!.stop().catch(() => undefined);
      // stop() detaches handlers without awaiting them; a detach may still ROLLBACK through db
      await new Promise((r) => setTimeout(r, 20));
      await db!.close().catch(() => undefined);
      send({ type: 'closed' });
      port.close();
    })();
  });
}

void main();
