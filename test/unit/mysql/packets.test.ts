// Vectors for the MySQL packet encoders and decoders: framing (incl. 16 MiB continuation), length-encoded
// values, HandshakeV10 and HandshakeResponse41 both ways, OK/ERR/EOF, and hostile handshake fields.
import { describe, expect, it } from 'vitest';
import { Capability, ErrNo, MAX_PACKET_PAYLOAD } from '../../../src/mysql/codes.js';
import {
  DecodeError,
  decodeErr,
  decodeHandshakeResponse41,
  decodeHandshakeV10,
  decodeOk,
  decodeStatus,
  encodeEof,
  encodeErr,
  encodeHandshakeResponse41,
  encodeHandshakeV10,
  encodeOk,
  encodePacket,
  firstTextValue,
  isSslRequest,
  lenencBytes,
  lenencInt,
  readLenencInt,
} from '../../../src/mysql/packets.js';

describe('framing', () => {
  it('frames a small payload with a 3-byte little-endian length and the sequence id', () => {
    expect(encodePacket(3, Buffer.from([0x0e])).toString('hex')).toBe('01000003' + '0e');
  });

  it('splits a payload of 16 MiB - 1 bytes into a full packet and an empty one', () => {
    const p = encodePacket(0, Buffer.alloc(MAX_PACKET_PAYLOAD, 1));
    expect(p.length).toBe(4 + MAX_PACKET_PAYLOAD + 4);
    expect(p.subarray(0, 4).toString('hex')).toBe('ffffff00');
    expect(p.subarray(4 + MAX_PACKET_PAYLOAD).toString('hex')).toBe('00000001');
  });

  it('continues a larger payload with increasing sequence ids', () => {
    const p = encodePacket(255, Buffer.alloc(MAX_PACKET_PAYLOAD + 10, 2));
    expect(p.subarray(0, 4).toString('hex')).toBe('ffffffff');
    expect(p.subarray(4 + MAX_PACKET_PAYLOAD, 8 + MAX_PACKET_PAYLOAD).toString('hex')).toBe('0a000000');
  });
});

describe('length-encoded values', () => {
  it.each([
    [0, '00'], [250, 'fa'], [251, 'fcfb00'], [65535, 'fcffff'], [65536, 'fd000001'], [16777216, 'fe0000000100000000'],
  ])('%i ⇄ %s', (n, hex) => {
    expect(lenencInt(n).toString('hex')).toBe(hex);
    expect(readLenencInt(Buffer.from(hex, 'hex'), 0)).toEqual([n, hex.length / 2]);
  });

  it('reads NULL as -1 and refuses truncated values', () => {
    expect(readLenencInt(Buffer.from('fb', 'hex'), 0)).toEqual([-1, 1]);
    expect(() => readLenencInt(Buffer.from('fc01', 'hex'), 0)).toThrow(DecodeError);
    expect(() => readLenencInt(Buffer.from('ff', 'hex'), 0)).toThrow(DecodeError);
  });
});

const scramble = Buffer.from('0123456789abcdefghij');

describe('HandshakeV10', () => {
  it('round-trips a MariaDB greeting with extended capabilities', () => {
    const h = {
      serverVersion: '5.5.5-10.11.19-MariaDB', threadId: 4242, scramble, capabilities: (Capability.Protocol41 | Capability.SecureConnection | Capability.PluginAuth | Capability.DeprecateEof) >>> 0,
      mariadbCapabilities: 0b100, charset: 45, status: 2, authPlugin: 'caching_sha2_password',
    };
    const bytes = encodeHandshakeV10(h);
    expect(bytes[0]).toBe(10);
    // version, NUL, thread id little-endian, first 8 scramble bytes, filler
    const v = bytes.indexOf(0, 1);
    expect(bytes.toString('latin1', 1, v)).toBe(h.serverVersion);
    expect(bytes.readUInt32LE(v + 1)).toBe(4242);
    expect(bytes.toString('latin1', v + 5, v + 13)).toBe('01234567');
    expect(bytes[v + 13]).toBe(0);
    expect(bytes[v + 21]).toBe(21); // auth plugin data length: 20 + NUL
    expect(decodeHandshakeV10(bytes)).toEqual(h);
  });

  it('decodes a real MariaDB 10.11 greeting', () => {
    const hex = '0a352e352e352d31302e31312e31392d4d617269614442000a0000005c2f5e6f4b56333f00fef72d0200ff81150000000000001d0000004e4e6b2e2c7d343e57625d27006d7973716c5f6e61746976655f70617373776f726400';
    const h = decodeHandshakeV10(Buffer.from(hex, 'hex'));
    expect(h.serverVersion).toBe('5.5.5-10.11.19-MariaDB');
    expect(h.threadId).toBe(10);
    expect(h.scramble.toString('latin1')).toBe('\\/^oKV3?NNk.,}4>Wb]\'');
    expect(h.scramble.length).toBe(20);
    expect(h.authPlugin).toBe('mysql_native_password');
    expect(h.capabilities & Capability.LongPassword).toBe(0);
    expect(h.mariadbCapabilities).toBe(0x1d);
  });
});

describe('HandshakeResponse41', () => {
  const base = {
    capabilities: (Capability.Protocol41 | Capability.SecureConnection | Capability.PluginAuth | Capability.PluginAuthLenencClientData |
      Capability.ConnectWithDb | Capability.ConnectAttrs | Capability.LongPassword) >>> 0,
    mariadbCapabilities: 0, maxPacketSize: 1 << 24, charset: 45, user: 'alice_x1y2z3', authResponse: Buffer.alloc(32, 7),
    database: 'dbw_my', authPlugin: 'caching_sha2_password', attributes: new Map([['_client_name', 'test'], ['_pid', '1']]),
  };

  it('round-trips every field', () => {
    expect(decodeHandshakeResponse41(encodeHandshakeResponse41(base))).toEqual(base);
  });

  it('reads the one-byte auth length form and MariaDB extended capabilities', () => {
    const r = { ...base, capabilities: (base.capabilities & ~Capability.PluginAuthLenencClientData & ~Capability.LongPassword) >>> 0, mariadbCapabilities: 4 };
    const d = decodeHandshakeResponse41(encodeHandshakeResponse41(r));
    expect(d.authResponse).toEqual(r.authResponse);
    expect(d.mariadbCapabilities).toBe(4);
  });

  it('recognises the SSLRequest prefix', () => {
    const full = encodeHandshakeResponse41({ ...base, capabilities: base.capabilities | Capability.Ssl });
    expect(isSslRequest(full.subarray(0, 32))).toBe(true);
    expect(isSslRequest(full)).toBe(false);
  });

  it('refuses oversized and truncated fields instead of reading past them', () => {
    expect(() => decodeHandshakeResponse41(encodeHandshakeResponse41({ ...base, user: 'u'.repeat(300) }))).toThrow(/user name too long/);
    expect(() => decodeHandshakeResponse41(encodeHandshakeResponse41({ ...base, authResponse: Buffer.alloc(5000) }))).toThrow(/auth response too long/);
    const attrs = new Map([['k', 'v'.repeat(70_000)]]);
    expect(() => decodeHandshakeResponse41(encodeHandshakeResponse41({ ...base, attributes: attrs }))).toThrow(/attributes too long/);
    const whole = encodeHandshakeResponse41(base);
    for (const cut of [10, 40, 45, whole.length - 3]) expect(() => decodeHandshakeResponse41(whole.subarray(0, cut))).toThrow(DecodeError);
    const noProto41 = Buffer.from(whole);
    noProto41.writeUInt32LE(base.capabilities & ~Capability.Protocol41, 0);
    expect(() => decodeHandshakeResponse41(noProto41)).toThrow(/4\.1/);
  });
});

describe('OK, ERR, EOF', () => {
  it('encodes ERR with errno, SQLSTATE marker and message', () => {
    const e = encodeErr(ErrNo.SpecificAccessDenied, 'dbwarden: blocked by rule x: y');
    expect(e.subarray(0, 9).toString('latin1')).toBe('\xff\xcb\x04#42000');
    expect(decodeErr(e)).toEqual({ errno: 1227, sqlState: '42000', message: 'dbwarden: blocked by rule x: y' });
  });

  it('reads status flags from OK, the 0xFE OK and classic EOF', () => {
    expect(encodeOk({ status: 0x22, affectedRows: 300n }).toString('hex')).toBe('00fc2c01002200' + '0000');
    expect(decodeStatus(encodeOk({ status: 0x0208 }))).toEqual({ status: 0x0208, warnings: 0 });
    const okFe = Buffer.from(encodeOk({ status: 0x4002, warnings: 1 }));
    okFe[0] = 0xfe;
    expect(decodeStatus(okFe)).toEqual({ status: 0x4002, warnings: 1 });
    expect(decodeStatus(encodeEof(0x0048, 3))).toEqual({ status: 0x0048, warnings: 3 });
  });

  it('reads flags of an OK whose counters are 2^53 or more, skipping the counters; decodeOk reads them as bigint', () => {
    // a negative AUTO_INCREMENT id (-5) arrives as unsigned 64-bit; a Snowflake id is above 2^53 as well
    for (const id of [18446744073709551611n, 2n ** 53n + 1n, 0xffffffffffffffffn]) {
      const ok = encodeOk({ status: 0x0003, warnings: 2, affectedRows: 1n, lastInsertId: id });
      expect(decodeStatus(ok)).toEqual({ status: 0x0003, warnings: 2 });
      expect(decodeOk(ok)).toEqual({ affectedRows: 1n, lastInsertId: id, status: 3, warnings: 2 });
      const big = encodeOk({ status: 0x000a, affectedRows: id, lastInsertId: id });
      expect(decodeStatus(big)).toEqual({ status: 0x000a, warnings: 0 });
    }
  });

  it('never throws on a short or odd OK: the flags read as 0', () => {
    for (const p of [Buffer.from([0x00]), Buffer.from([0x00, 0xfe, 1, 2]), Buffer.from([0x00, 0xff, 0x00]), Buffer.from([0x00, 0x01, 0x01, 0x02])]) {
      expect(() => decodeStatus(p)).not.toThrow();
      expect(decodeStatus(p).status).toBe(0);
    }
  });

  it('reads the first value of a one-row text result', () => {
    const packets = [Buffer.from([1]), Buffer.from('coldef'), encodeEof(2), lenencBytes('ANSI_QUOTES,STRICT_TRANS_TABLES'), encodeEof(2)];
    expect(firstTextValue(packets, false)).toBe('ANSI_QUOTES,STRICT_TRANS_TABLES');
    expect(firstTextValue([Buffer.from([1]), Buffer.from('coldef'), lenencBytes(''), encodeEof(2)], true)).toBe('');
  });
});
