// MysqlRelay without sockets: in-memory ends for client and upstream, a real session and rules.
import { describe, expect, it } from 'vitest';
import { Capability, Command } from '../../../src/mysql/codes.js';
import { decodeErr, encodeComQuery, encodeOk, encodePacket } from '../../../src/mysql/packets.js';
import { MysqlRelay } from '../../../src/mysql/relay.js';
import { ThreadIds } from '../../../src/mysql/thread-ids.js';
import { testEnd, until } from '../../helpers/duplex-pair.js';
import { relaySession } from '../../helpers/relay-session.js';

function setup() {
  const { session, metrics } = relaySession('mysql');
  const client = testEnd();
  const upstream = testEnd();
  let kills = 0;
  const relay = new MysqlRelay(client.stream, upstream.stream, session, {
    metrics, maxQueryBytes: 1 << 20, capabilities: Capability.Protocol41 | Capability.DeprecateEof | Capability.MultiStatements,
    login: 'alice_unit', host: '127.0.0.1', serverVersion: '10.11.5-MariaDB', sqlMode: '', threads: new ThreadIds(),
    killQuery: async () => void kills++,
  });
  relay.start(Buffer.alloc(0), Buffer.alloc(0));
  return { session, client, upstream, kills: () => kills };
}

/** Splits a stream of packets into [sequence id, payload]. */
function packets(b: Buffer): [number, Buffer][] {
  const out: [number, Buffer][] = [];
  for (let o = 0; o + 4 <= b.length;) {
    const len = b.readUIntLE(o, 3);
    out.push([b[o + 3]!, b.subarray(o + 4, o + 4 + len)]);
    o += 4 + len;
  }
  return out;
}

const query = (text: string) => encodePacket(0, encodeComQuery(text));

describe('MysqlRelay', () => {
  it('forwards an allowed COM_QUERY byte for byte, however the client splits it', async () => {
    const q = query('SELECT id FROM t WHERE id = 1');
    for (let k = 0; k <= q.length; k++) {
      const t = setup();
      t.client.send(q.subarray(0, k));
      t.client.send(q.subarray(k));
      await until(() => t.upstream.written().length >= q.length);
      expect(t.upstream.written().equals(q), `split at ${k}`).toBe(true);
      t.session.end('test');
    }
  });

  it('answers a refused statement itself (ERR 1227, sequence id 1); nothing reaches the upstream', async () => {
    const t = setup();
    t.client.send(query('DELETE FROM t'));
    await until(() => t.client.written().length > 0);
    const [[seq, payload]] = packets(t.client.written());
    expect(seq).toBe(1);
    expect(decodeErr(payload)).toEqual({ errno: 1227, sqlState: '42000', message: 'dbwarden: blocked by rule no-unscoped-delete: add a WHERE clause' });
    expect(t.upstream.written().length).toBe(0);
    t.session.end('test');
  });

  it('keeps answers in order: a refusal waits for the upstream answer due before it', async () => {
    const t = setup();
    t.client.send(query('SELECT 1'));
    await until(() => t.upstream.written().length > 0);
    t.client.send(query('DELETE FROM t'));
    await new Promise((r) => setTimeout(r, 20));
    expect(t.client.written().length).toBe(0);
    t.upstream.send(encodePacket(1, encodeOk()));
    await until(() => packets(t.client.written()).length === 2);
    const [[, first], [, second]] = packets(t.client.written());
    expect(first[0]).toBe(0x00);
    expect(decodeErr(second).errno).toBe(1227);
    t.session.end('test');
  });

  it('USE of a database outside the grant is ERR 1044 from the facts, version comment or not', async () => {
    for (const text of ['USE other', '/*!USE other*/']) {
      const t = setup();
      t.client.send(query(text));
      await until(() => t.client.written().length > 0);
      const e = decodeErr(packets(t.client.written())[0]![1]);
      expect(e.errno, text).toBe(1044);
      expect(e.message).toBe("Access denied for user 'alice_unit'@'127.0.0.1' to database 'other' (dbwarden: this grant covers app)");
      t.session.end('test');
    }
  });

  it('ends a session: KILL QUERY what runs, ERR 1927 at the packet boundary, then COM_QUIT upstream', async () => {
    const t = setup();
    t.client.send(query('SELECT SLEEP(10)'));
    await until(() => t.upstream.written().length > 0);
    t.session.terminate('killed');
    await until(() => t.client.written().length > 0);
    expect(t.kills()).toBe(1);
    const [[seq, payload]] = packets(t.client.written());
    expect(seq).toBe(1);
    expect(decodeErr(payload)).toMatchObject({ errno: 1927, message: 'dbwarden: session killed' });
    await until(() => t.upstream.written().subarray(-5).equals(encodePacket(0, Buffer.from([Command.Quit]))));
  });
});
