// Thread ids the broker hands to MySQL clients in HandshakeV10. The greeting goes out before anyone has
// logged in, so an id is reserved per connection and bound to its session after authentication; a
// `KILL [QUERY] <id>` from the client's second connection finds the session here.
import { randomInt } from 'node:crypto';
import type { Session } from '../session/session.js';

export class ThreadIds {
  private readonly sessions = new Map<number, Session | null>();
  private next = randomInt(1000, 1 << 20);

  reserve(): number {
    for (;;) {
      const id = this.next++;
      if (this.next > 0x7fffffff) this.next = 1000;
      if (!this.sessions.has(id)) {
        this.sessions.set(id, null);
        return id;
      }
    }
  }

  bind(id: number, session: Session): void {
    this.sessions.set(id, session);
  }

  get(id: number): Session | undefined {
    return this.sessions.get(id) ?? undefined;
  }

  release(id: number): void {
    this.sessions.delete(id);
  }

  get size(): number {
    return this.sessions.size;
  }
}
