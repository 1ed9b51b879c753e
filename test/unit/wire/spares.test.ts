// SpareConnections bookkeeping (the real-server behaviour is in test/integration/pg-upstream-spares.test.ts): spares
// per key and in all, handed out once, dropped when their socket speaks or ends, after their idle time, and on close.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { SpareConnections } from '../../../src/wire/spares.js';

interface Fake {
  socket: PassThrough;
  rest: Buffer;
}

function opener(made: Fake[], rest = Buffer.alloc(0)): () => Promise<Fake> {
  return async () => {
    const c = { socket: new PassThrough(), rest };
    c.socket.pause();
    made.push(c);
    return c;
  };
}

const settle = () => new Promise((r) => setTimeout(r, 10));

describe('SpareConnections', () => {
  it('opens up to perKey per key and no more than the total over all keys; each spare is handed out once', async () => {
    const spares = new SpareConnections<Fake>({ perKey: 2, total: 3, idleMs: 60_000 });
    const made: Fake[] = [];
    spares.replenish('a', opener(made));
    spares.replenish('a', opener(made));
    spares.replenish('b', opener(made));
    spares.replenish('c', opener(made));
    await settle();
    expect(made).toHaveLength(3);
    expect(spares.size).toBe(3);
    const first = spares.take('a');
    const second = spares.take('a');
    expect(first).toBeDefined();
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
    expect(spares.take('a')).toBeUndefined();
    expect(spares.take('c')).toBeUndefined();
    expect(spares.take('b')).toBeDefined();
    // handed out paused and alive, as a fresh connection is
    expect(first!.socket.destroyed).toBe(false);
    expect(first!.socket.isPaused()).toBe(true);
    spares.close();
  });

  it('drops a spare whose socket receives bytes or ends while it waits, and one with bytes left after start-up', async () => {
    const spares = new SpareConnections<Fake>({ perKey: 1, idleMs: 60_000 });
    const made: Fake[] = [];
    spares.replenish('a', opener(made));
    spares.replenish('b', opener(made));
    await settle();
    made[0]!.socket.write('N');
    made[1]!.socket.end();
    await settle();
    expect(made[0]!.socket.destroyed).toBe(true);
    expect(spares.take('a')).toBeUndefined();
    expect(spares.take('b')).toBeUndefined();
    spares.replenish('c', opener(made, Buffer.from('x')));
    await settle();
    expect(made[2]!.socket.destroyed).toBe(true);
    expect(spares.size).toBe(0);
  });

  it('closes a spare after its idle time, and every spare on close; none is opened after close', async () => {
    const spares = new SpareConnections<Fake>({ perKey: 1, idleMs: 30 });
    const made: Fake[] = [];
    spares.replenish('a', opener(made));
    await settle();
    expect(spares.size).toBe(1);
    await new Promise((r) => setTimeout(r, 60));
    expect(spares.size).toBe(0);
    expect(made[0]!.socket.destroyed).toBe(true);
    spares.replenish('b', opener(made));
    await settle();
    spares.close();
    expect(made[1]!.socket.destroyed).toBe(true);
    spares.replenish('c', opener(made));
    await settle();
    expect(made).toHaveLength(2);
    expect(spares.take('b')).toBeUndefined();
  });

  it('a failed open leaves room for the next', async () => {
    const spares = new SpareConnections<Fake>({ perKey: 1, idleMs: 60_000 });
    spares.replenish('a', () => Promise.reject(new Error('refused')));
    await settle();
    const made: Fake[] = [];
    spares.replenish('a', opener(made));
    await settle();
    expect(spares.take('a')).toBe(made[0]);
    spares.close();
  });
});
