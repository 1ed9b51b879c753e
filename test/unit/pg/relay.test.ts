// PgRelay without sockets: in-memory ends for client and upstream, a real session and rules.
import { describe, expect, it } from 'vitest';
import { PgRelay } from '../../../src/pg/relay.js';
import { decodeFields, encodeErrorResponse, encodeQuery, encodeReadyForQuery } from '../../../src/pg/messages.js';
import { testEnd, until } from '../../helpers/duplex-pair.js';
import { relaySession } from '../../helpers/relay-session.js';

function setup() {
  const { session, metrics } = relaySession('postgres');
  const client = testEnd();
  const upstream = testEnd();
  let cancels = 0;
  const relay = new PgRelay(client.stream, upstream.stream, session, {
    metrics, maxQueryBytes: 1 << 20, standardConformingStrings: true, cancel: async () => void cancels++,
  });
  relay.start(Buffer.alloc(0), Buffer.alloc(0));
  return { session, client, upstream, cancels: () => cancels };
}

/** Splits a stream of backend messages into [type, body]. */
function messages(b: Buffer): [string, Buffer][] {
  const out: [string, Buffer][] = [];
  for (let o = 0; o + 5 <= b.length;) {
    const len = b.readInt32BE(o + 1);
    out.push([String.fromCharCode(b[o]!), b.subarray(o + 5, o + 1 + len)]);
    o += 1 + len;
  }
  return out;
}

describe('PgRelay', () => {
  it('forwards an allowed Query byte for byte, however the client splits it', async () => {
    const q = encodeQuery('SELECT id FROM t WHERE id = 1');
    for (let k = 0; k <= q.length; k++) {
      const t = setup();
      t.client.send(q.subarray(0, k));
      t.client.send(q.subarray(k));
      await until(() => t.upstream.written().length >= q.length);
      expect(t.upstream.written().equals(q), `split at ${k}`).toBe(true);
      t.session.end('test');
    }
  });

  it('replaces a refused Query with a marker and hands the client the core\'s refusal in its place', async () => {
    const t = setup();
    t.client.send(encodeQuery('DELETE FROM t'));
    await until(() => t.upstream.written().length > 0);
    const [[type, body]] = messages(t.upstream.written());
    expect(type).toBe('Q');
    const marker = body.toString('utf8', 0, body.length - 1);
    expect(marker).toMatch(/^dbwarden_blocked_[0-9a-f]+_\w+$/);
    // the server rejects the marker as a syntax error, then is ready again
    t.upstream.send(Buffer.concat([
      encodeErrorResponse({ severity: 'ERROR', code: '42601', message: `syntax error at or near "${marker}"` }),
      encodeReadyForQuery(),
    ]));
    await until(() => messages(t.client.written()).length === 2);
    const [[e, err], [z]] = messages(t.client.written());
    expect([e, z]).toEqual(['E', 'Z']);
    const f = decodeFields(err);
    expect(f.get('C')).toBe('42501');
    expect(f.get('M')).toBe('dbwarden: blocked by rule no-unscoped-delete: add a WHERE clause');
    expect(f.get('R')).toBe('dbwarden_guardrail');
    t.session.end('test');
  });

  it('ends a session at a message boundary: cancel what runs, FATAL 57P01, then Terminate upstream', async () => {
    const t = setup();
    t.client.send(encodeQuery('SELECT pg_sleep(10)'));
    await until(() => t.upstream.written().length > 0);
    // the upstream is mid-message (a DataRow header without its body): the FATAL waits for the boundary
    t.upstream.send(Buffer.from([0x44, 0, 0, 0, 10]));
    t.session.terminate('revoked');
    await new Promise((r) => setTimeout(r, 50));
    expect(t.cancels()).toBe(1);
    // the half message's bytes went through as they came; no error has been put after them
    expect(t.client.written().equals(Buffer.from([0x44, 0, 0, 0, 10]))).toBe(true);
    t.upstream.send(Buffer.from([0, 1, 0, 0, 0, 0]));
    await until(() => messages(t.client.written()).some(([c]) => c === 'E'));
    const fatal = messages(t.client.written()).find(([c]) => c === 'E')![1];
    expect(decodeFields(fatal).get('C')).toBe('57P01');
    expect(decodeFields(fatal).get('M')).toBe('dbwarden: grant revoked');
    await until(() => t.upstream.written().subarray(-5).equals(Buffer.from([0x58, 0, 0, 0, 4])));
  });
});
