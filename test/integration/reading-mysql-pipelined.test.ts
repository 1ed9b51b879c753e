// Reading barriers on MySQL through a raw socket (issue 10, finding 2): a client that pipelines
// `SET sql_mode='NO_BACKSLASH_ESCAPES'` and the next COM_QUERY in one write, or sends both in one multi-statement
// COM_QUERY, gets the second text read by the server under the new mode. Proven on MariaDB directly (the DELETE
// hidden in what the old mode reads as a string runs), then refused through a live broker (nothing deleted).
import { connect as netConnect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeToken } from '../../src/auth/mysql-native-password.js';
import { cachingSha2Token } from '../../src/auth/caching-sha2-password.js';
import { Capability } from '../../src/mysql/codes.js';
import { PacketReader } from '../../src/mysql/packet-reader.js';
import { decodeErr, decodeHandshakeV10, encodeComQuery, encodeHandshakeResponse41, encodePacket } from '../../src/mysql/packets.js';
import { myAdmin, startMysqlTestBroker, type MysqlTestBroker } from '../helpers/mysql.js';

const T = `rp_${randomBytes(4).toString('hex')}`;
const CAPS = (Capability.Protocol41 | Capability.SecureConnection | Capability.PluginAuth | Capability.PluginAuthLenencClientData |
  Capability.LongPassword | Capability.Transactions | Capability.ConnectWithDb | Capability.MultiStatements | Capability.MultiResults) >>> 0;
/** Under the default mode one string literal; under NO_BACKSLASH_ESCAPES the string ends at `\'` and a DELETE follows. */
const SMUGGLED = `SELECT 'a\\'; DELETE FROM ${T}; -- '`;
let b: MysqlTestBroker;

beforeAll(async () => {
  await myAdmin(`CREATE TABLE ${T} (id INT PRIMARY KEY); INSERT INTO ${T} VALUES (1), (2), (3)`, 'dbw_my');
  b = await startMysqlTestBroker();
}, 60_000);
afterAll(async () => {
  await b?.close();
  await myAdmin(`DROP TABLE IF EXISTS ${T}`, 'dbw_my');
});

async function count(): Promise<number> {
  const rows = (await myAdmin(`SELECT COUNT(*) AS n FROM ${T}`, 'dbw_my')) as Array<{ n: number }>;
  return Number(rows[0]!.n);
}

/** Logs in on a raw socket (native or caching_sha2 after a switch), then writes `queries` back to back in one write. */
async function pipelined(port: number, user: string, password: string, queries: (string | Buffer)[], first?: string): Promise<{ packets: Buffer[] }> {
  const sock: Socket = await new Promise((resolve, reject) => {
    const s = netConnect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
  const reader = new PacketReader(sock, 1 << 24);
  try {
    const hello = decodeHandshakeV10((await reader.read(5000, 0)).payload);
    const plugin = hello.authPlugin || 'mysql_native_password';
    const token = (p: string, s: Buffer) => (p === 'caching_sha2_password' ? cachingSha2Token(password, s) : nativeToken(password, s));
    sock.write(encodePacket(1, encodeHandshakeResponse41({
      capabilities: CAPS, mariadbCapabilities: 0, maxPacketSize: 1 << 24, charset: 45, user,
      authResponse: token(plugin, hello.scramble), database: 'dbw_my', authPlugin: plugin, attributes: new Map(),
    })));
    for (;;) {
      const { seq, payload } = await reader.read(5000);
      if (payload[0] === 0x00) break;
      if (payload[0] === 0xff) throw new Error(`login refused: ${decodeErr(payload).message}`);
      if (payload[0] === 0xfe) {
        const end = payload.indexOf(0, 1);
        const p = payload.toString('latin1', 1, end);
        sock.write(encodePacket(seq + 1, token(p, payload.subarray(end + 1, end + 21))));
      }
    }
    // every command in one write: the second arrives before the first is answered
    if (first !== undefined) {
      // sent on its own and answered before the pipelined write
      sock.write(encodePacket(0, encodeComQuery(first)));
      while (await reader.read(1000).catch(() => null));
    }
    // a Buffer is a command payload of its own (e.g. COM_RESET_CONNECTION)
    sock.write(Buffer.concat(queries.map((q) => encodePacket(0, typeof q === 'string' ? encodeComQuery(q) : q))));
    const packets: Buffer[] = [];
    // read until the socket has been quiet for a while (responses of every command, or an error)
    for (;;) {
      const next = await reader.read(1500).catch(() => null);
      if (!next) break;
      packets.push(next.payload);
    }
    return { packets };
  } finally {
    sock.destroy();
  }
}

describe('MySQL reading barriers, pipelined on a raw socket', () => {
  it('pipelined SET sql_mode then a smuggled DELETE: runs on MariaDB directly, refused through the broker', async () => {
    await pipelined(3306, 'root', '', ["SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES'", SMUGGLED]);
    expect(await count()).toBe(0);
    await myAdmin(`INSERT INTO ${T} VALUES (1), (2), (3)`, 'dbw_my');
    const g = await b.grant({ access: 'write' });
    const r = await pipelined(b.myPort, g.login, g.password, ["SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES'", SMUGGLED]);
    expect(await count()).toBe(3);
    const errors = r.packets.filter((p) => p[0] === 0xff).map((p) => decodeErr(p).message);
    expect(errors.join('\n')).toMatch(/dbwarden/);
  });

  it('the same in one multi-statement COM_QUERY: runs directly, refused through the broker', async () => {
    const text = `SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES'; ${SMUGGLED}`;
    await pipelined(3306, 'root', '', [text]);
    expect(await count()).toBe(0);
    await myAdmin(`INSERT INTO ${T} VALUES (1), (2), (3)`, 'dbw_my');
    const g = await b.grant({ access: 'write' });
    const r = await pipelined(b.myPort, g.login, g.password, [text]);
    expect(await count()).toBe(3);
    expect(r.packets.some((p) => p[0] === 0xff && /dbwarden/.test(decodeErr(p).message))).toBe(true);
  });

  it('pipelined SET sql_mode to a value the broker cannot know, landing in PIPES_AS_CONCAT, then a DELETE: deletes every row directly; through the broker the DELETE waits for the probe and the session ends', async () => {
    // the broker's default reading: id = 1 OR id = 0 (one row); the server's under PIPES_AS_CONCAT: (id = CONCAT(1, id)) = 0
    const set = "SET sql_mode = CONCAT(@@sql_mode, ',PIPES_AS_CONCAT')";
    const del = `DELETE FROM ${T} WHERE id = 1 || id = 0`;
    await pipelined(3306, 'root', '', [set, del]);
    expect(await count()).toBe(0);
    await myAdmin(`INSERT INTO ${T} VALUES (1), (2), (3)`, 'dbw_my');
    const g = await b.grant({ access: 'write' });
    const r = await pipelined(b.myPort, g.login, g.password, [set, del]);
    expect(await count()).toBe(3);
    const errors = r.packets.filter((p) => p[0] === 0xff).map((p) => decodeErr(p).message);
    expect(errors.join('\n')).toMatch(/sql_mode PIPES_AS_CONCAT .* not supported through the broker/);
  });

  it('SET sql_mode = ANSI_QUOTES, then COM_RESET_CONNECTION and a DELETE pipelined: the DELETE runs under the reset mode directly; through the broker it is decided under it too (refused)', async () => {
    // under ANSI_QUOTES "1" is a column (the broker's old reading: a condition on it); after the reset it is the string '1': true for every row
    const RESET = Buffer.from([0x1f]);
    const set = "SET sql_mode = 'ANSI_QUOTES'";
    const cmds = [RESET, `DELETE FROM ${T} WHERE "1"`];
    await pipelined(3306, 'root', '', cmds, set);
    expect(await count()).toBe(0);
    await myAdmin(`INSERT INTO ${T} VALUES (1), (2), (3)`, 'dbw_my');
    const g = await b.grant({ access: 'write' });
    const r = await pipelined(b.myPort, g.login, g.password, cmds, set);
    expect(await count()).toBe(3);
    const errors = r.packets.filter((p) => p[0] === 0xff).map((p) => decodeErr(p).message);
    expect(errors.join('\n')).toMatch(/blocked by rule unscoped-write/);
  });
});
