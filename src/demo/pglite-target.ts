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
// - PGlite runs in this process (WASM): a long query blocks the event loop shared with the broker.
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

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

const SEED_SQL = `
BEGIN;
CREATE TABLE customers (
  id         serial PRIMARY KEY,
  name       text NOT NULL,
  email      text NOT NULL UNIQUE,
  phone      text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE orders (
  id          serial PRIMARY KEY,
  customer_id integer NOT NULL REFERENCES customers(id),
  item        text NOT NULL,
  quantity    integer NOT NULL CHECK (quantity > 0),
  amount      numeric(10,2) NOT NULL,
  status      text NOT NULL DEFAULT 'placed',
  created_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO customers (name, email, phone) VALUES
  ('Ada Lovelace',    'ada@example.com',    '+44 20 7946 0001'),
  ('Grace Hopper',    'grace@example.com',  '+1 202 555 0102'),
  ('Alan Turing',     'alan@example.com',   '+44 20 7946 0003'),
  ('Katherine Johnson','katherine@example.com','+1 757 555 0104'),
  ('Edsger Dijkstra', 'edsger@example.com', '+31 20 555 0105');
INSERT INTO orders (customer_id, item, quantity, amount, status) VALUES
  (1, 'Analytical Engine manual', 1,  49.00, 'shipped'),
  (1, 'Punched cards (box)',      3,  12.50, 'placed'),
  (2, 'COBOL handbook',           1,  35.90, 'delivered'),
  (3, 'Enigma rotor set',         2, 120.00, 'placed'),
  (4, 'Orbital tables',           1,  18.75, 'shipped'),
  (5, 'Semaphore kit',            4,   9.99, 'placed');
COMMIT;
`;

async function seedIfEmpty(db: PGlite): Promise<boolean> {
  const r = await db.query<{ present: boolean }>(`SELECT to_regclass('public.customers') IS NOT NULL AS present`);
  if (r.rows[0]?.present) return false;
  await db.exec(SEED_SQL);
  return true;
}

export async function startPgliteTarget(options: PgliteTargetOptions = {}): Promise<PgliteTarget> {
  const host = options.host ?? '127.0.0.1';
  const db = await PGlite.create(options.dataDir);
  let server: PGLiteSocketServer | undefined;
  try {
    const seeded = await seedIfEmpty(db);
    server = new PGLiteSocketServer({ db, host, port: options.port ?? 0, maxConnections: options.maxConnections ?? 32 });
    await server.start();
    // getServerConn() is "host:port" with the port the OS picked when we asked for 0
    const port = Number(server.getServerConn().split(':').pop());
    let closing: Promise<void> | undefined;
    const s = server;
    return {
      host,
      port,
      user: 'postgres',
      database: 'postgres',
      seeded,
      close() {
        closing ??= (async () => {
          await s.stop();
          // stop() detaches handlers without awaiting them; a detach may still ROLLBACK through db
          await new Promise((r) => setTimeout(r, 20));
          await db.close();
        })();
        return closing;
      },
    };
  } catch (e) {
    await server?.stop().catch(() => undefined);
    await db.close().catch(() => undefined);
    throw e;
  }
}
