// Spare upstream connections. After a login, a fresh connection for the same upstream role, database and client
// start-up parameters is opened and logged in in the background, so the next such login need not wait for the
// server's fork and authentication (what makes a proxy's connect-per-transaction workloads slow).
//
// What this defends: session state passing from one client to the next. A spare has never carried a statement and
// is handed out once; a connection a client has used is never kept (this is not a pool of used backends, so there
// is no reset query whose gaps could leak a role, a temporary table, a prepared statement or a lock). A spare is
// exactly the connection that login would have opened, made a few seconds earlier: it is dropped when the server
// sends anything or closes it while it waits, and after `idleMs`, so settings changed on the server
// (ALTER ROLE … SET) reach new sessions within that time.
import type { Duplex } from 'node:stream';

export interface SpareOptions {
  /** most spares kept (idle or being opened) per key; 0 turns spares off */
  perKey: number;
  /**
   * most spares in all, over every key (default 4 × perKey). Defends the upstream's connection slots: a client
   * varying its start-up parameters (application_name, options) at each login would otherwise make a new key, and
   * perKey more idle connections, every time.
   */
  total?: number;
  /** a spare unused for this long is closed */
  idleMs: number;
}

interface Parked<C> {
  conn: C;
  timer: NodeJS.Timeout;
  drop: () => void;
}

export class SpareConnections<C extends { socket: Duplex; rest: Buffer }> {
  private readonly idle = new Map<string, Parked<C>[]>();
  private readonly opening = new Map<string, number>();
  private closed = false;

  constructor(private readonly o: SpareOptions) {}

  /** A live spare for `key`, or undefined; the caller owns it (paused, as a fresh connection is returned). */
  take(key: string): C | undefined {
    const list = this.idle.get(key);
    while (list && list.length > 0) {
      const p = list.shift()!;
      this.unpark(p);
      const s = p.conn.socket;
      if (!s.destroyed && s.readable && s.writable) return p.conn;
      s.destroy();
    }
    return undefined;
  }

  /** Opens spares for `key` in the background up to `perKey` (a failure is left for the next login to meet). */
  replenish(key: string, open: () => Promise<C>): void {
    if (this.closed || this.o.perKey <= 0) return;
    const have = (this.idle.get(key)?.length ?? 0) + (this.opening.get(key) ?? 0);
    let room = (this.o.total ?? 4 * this.o.perKey) - this.size - this.openingCount();
    for (let i = have; i < this.o.perKey && room > 0; i++, room--) {
      this.opening.set(key, (this.opening.get(key) ?? 0) + 1);
      const settle = () => {
        const n = (this.opening.get(key) ?? 1) - 1;
        if (n > 0) this.opening.set(key, n);
        else this.opening.delete(key);
      };
      open().then(
        (conn) => {
          settle();
          this.park(key, conn);
        },
        settle,
      );
    }
  }

  /** spares waiting now (for tests and metrics) */
  get size(): number {
    let n = 0;
    for (const list of this.idle.values()) n += list.length;
    return n;
  }

  private openingCount(): number {
    let n = 0;
    for (const v of this.opening.values()) n += v;
    return n;
  }

  /** Closes every spare; none is opened or handed out afterwards. */
  close(): void {
    this.closed = true;
    for (const list of this.idle.values()) for (const p of list) p.drop();
    this.idle.clear();
  }

  private park(key: string, conn: C): void {
    const s = conn.socket;
    // bytes after the start-up answer, or a closed pool: not the connection a login would get
    if (this.closed || conn.rest.length > 0 || s.destroyed) return void s.destroy();
    const list = this.idle.get(key) ?? [];
    this.idle.set(key, list);
    const p: Parked<C> = {
      conn,
      timer: setTimeout(() => p.drop(), this.o.idleMs).unref(),
      drop: () => {
        this.unpark(p);
        const i = list.indexOf(p);
        if (i >= 0) list.splice(i, 1);
        if (list.length === 0 && this.idle.get(key) === list) this.idle.delete(key);
        s.destroy();
      },
    };
    // anything the server says while the spare waits (a notice, a parameter change, a FATAL on shutdown) would be
    // missing from what the client is told at login, so such a spare is dropped rather than handed out
    s.on('data', p.drop);
    s.on('end', p.drop);
    s.on('close', p.drop);
    s.on('error', p.drop);
    s.resume();
    list.push(p);
  }

  private unpark(p: Parked<C>): void {
    clearTimeout(p.timer);
    const s = p.conn.socket;
    s.off('data', p.drop);
    s.off('end', p.drop);
    s.off('close', p.drop);
    s.off('error', p.drop);
    s.pause();
  }
}
