// Thread ids the broker hands to MySQL clients in HandshakeV10, and the upstream thread ids (what
// CONNECTION_ID() returns) of the same sessions. The greeting goes out before anyone has logged in, so an id
// is reserved per connection and bound to its session after authentication; a `KILL [QUERY] <id>` naming
// either id finds the session here.
import { randomInt } from 'node:crypto';
import type { Session } from '../session/session.js';

/**
 * Broker ids live far above the upstream's (servers count threads up from 1), so one number never names two
 * sessions: `KILL n` means the same thread whether n came from the greeting or from CONNECTION_ID().
 */
const FIRST = 0x40000000;
const LAST = 0x7fffffff;

export class ThreadIds {
  private readonly sessions = new Map<number, Session | null>();
  /** target + upstream thread id → session (two targets count their threads independently) */
  private readonly upstream = new Map<string, Session>();
  private readonly upstreamOf = new WeakMap<Session, number>();
  private next = FIRST + randomInt(0, 1 << 24);

  reserve(): number {
    for (;;) {
      const id = this.next++;
      if (this.next > LAST) this.next = FIRST;
      if (!this.sessions.has(id)) {
        this.sessions.set(id, null);
        return id;
      }
    }
  }

  /** Binds a reserved id, and the upstream thread id the session runs on, to the session. */
  bind(id: number, session: Session, upstreamThread?: number): void {
    // COM_CHANGE_USER rebinds a connection's id: the old session's upstream thread is gone
    const old = this.sessions.get(id);
    const oldUp = old ? this.upstreamOf.get(old) : undefined;
    if (old && old !== session && oldUp !== undefined && this.upstream.get(`${old.grant.target}\0${oldUp}`) === old) this.upstream.delete(`${old.grant.target}\0${oldUp}`);
    this.sessions.set(id, session);
    if (upstreamThread !== undefined) {
      this.upstream.set(`${session.grant.target}\0${upstreamThread}`, session);
      this.upstreamOf.set(session, upstreamThread);
    }
  }

  /** The session a thread id names: a broker id first, else an upstream id on `target`. */
  get(id: number, target?: string): Session | undefined {
    return this.sessions.get(id) ?? (target === undefined ? undefined : this.upstream.get(`${target}\0${id}`));
  }

  /** The upstream thread id of a session (what the server's KILL takes). */
  upstreamThread(session: Session): number | undefined {
    return this.upstreamOf.get(session);
  }

  release(id: number): void {
    const s = this.sessions.get(id);
    this.sessions.delete(id);
    const up = s ? this.upstreamOf.get(s) : undefined;
    const key = s ? `${s.grant.target}\0${up}` : '';
    if (up !== undefined && this.upstream.get(key) === s) this.upstream.delete(key);
  }

  get size(): number {
    return this.sessions.size;
  }
}
