// Encoders and decoders for the MySQL packets the broker writes or inspects: HandshakeV10,
// HandshakeResponse41 / SSLRequest, OK, ERR, EOF, AuthSwitchRequest, AuthMoreData, COM_QUERY.
// https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_basic_packets.html
import type { ErrorCode } from '../errors.js';
import { ByteCursor } from '../wire/cursor.js';
import { Capability, GENERAL_SQLSTATE, MAX_PACKET_PAYLOAD, PacketHeader, errOf, type ErrSpec } from './codes.js';

export class DecodeError extends Error {}

// ---- framing ----

/** Frames a payload as one or more packets (a payload of 16 MiB - 1 or more continues, ending with a shorter one). */
export function encodePacket(seq: number, payload: Buffer): Buffer {
  if (payload.length < MAX_PACKET_PAYLOAD) {
    const out = Buffer.allocUnsafe(4 + payload.length);
    out.writeUIntLE(payload.length, 0, 3);
    out[3] = seq & 0xff;
    payload.copy(out, 4);
    return out;
  }
  const parts: Buffer[] = [];
  let off = 0;
  for (;;) {
    const len = Math.min(MAX_PACKET_PAYLOAD, payload.length - off);
    const head = Buffer.allocUnsafe(4);
    head.writeUIntLE(len, 0, 3);
    head[3] = seq & 0xff;
    seq++;
    parts.push(head, payload.subarray(off, off + len));
    off += len;
    if (len < MAX_PACKET_PAYLOAD) break;
  }
  return Buffer.concat(parts);
}

// ---- length-encoded values ----

export function lenencInt(value: number | bigint): Buffer {
  if (typeof value === 'bigint' && value > BigInt(Number.MAX_SAFE_INTEGER)) {
    const b = Buffer.allocUnsafe(9);
    b[0] = 0xfe;
    b.writeBigUInt64LE(value, 1);
    return b;
  }
  const n = Number(value);
  if (n < 0xfb) return Buffer.from([n]);
  if (n < 0x10000) {
    const b = Buffer.allocUnsafe(3);
    b[0] = 0xfc;
    b.writeUInt16LE(n, 1);
    return b;
  }
  if (n < 0x1000000) {
    const b = Buffer.allocUnsafe(4);
    b[0] = 0xfd;
    b.writeUIntLE(n, 1, 3);
    return b;
  }
  const b = Buffer.allocUnsafe(9);
  b[0] = 0xfe;
  b.writeBigUInt64LE(BigInt(n), 1);
  return b;
}

export function lenencBytes(v: Buffer | string): Buffer {
  const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
  return Buffer.concat([lenencInt(b.length), b]);
}

/** A cursor over a packet's bytes whose reads fail with DecodeError (wire/cursor.ts). */
export function cursor(buf: Buffer, off = 0): ByteCursor {
  return new ByteCursor(buf, off, (m) => new DecodeError(m));
}

/** Reads a length-encoded integer; returns [value, next offset]. NULL (0xfb) reads as -1. */
export function readLenencInt(buf: Buffer, off: number): [number, number] {
  const c = cursor(buf, off);
  return [c.lenenc(), c.off];
}

/**
 * Reads a length-encoded integer of any size as a bigint (affected rows and last insert ids are unsigned
 * 64-bit: a negative AUTO_INCREMENT id or a Snowflake-style BIGINT arrives above 2^53). NULL reads as -1n.
 */
export function readLenencBigInt(buf: Buffer, off: number): [bigint, number] {
  if (off < buf.length && buf[off] === 0xfe) {
    if (off + 9 > buf.length) throw new DecodeError('length-encoded integer past the end of the packet');
    return [buf.readBigUInt64LE(off + 1), off + 9];
  }
  const [n, o] = readLenencInt(buf, off);
  return [BigInt(n), o];
}

/** The offset after a length-encoded integer, without reading its value (any size); -1 past the end. */
export function skipLenencInt(buf: Buffer, off: number): number {
  if (off >= buf.length) return -1;
  const first = buf[off]!;
  const next = first < 0xfc ? off + 1 : first === 0xfc ? off + 3 : first === 0xfd ? off + 4 : first === 0xfe ? off + 9 : -1;
  return next > buf.length ? -1 : next;
}

export function readLenencBytes(buf: Buffer, off: number): [Buffer, number] {
  const c = cursor(buf, off);
  return [c.lenencBytes(), c.off];
}

export function readNulString(buf: Buffer, off: number): [string, number] {
  const end = buf.indexOf(0, off);
  if (end < 0) throw new DecodeError('string not terminated');
  return [buf.toString('utf8', off, end), end + 1];
}

function nul(s: string): Buffer {
  return Buffer.from(s + '\0', 'utf8');
}

// ---- HandshakeV10 ----

export interface HandshakeV10 {
  serverVersion: string;
  threadId: number;
  /** 20 bytes */
  scramble: Buffer;
  capabilities: number;
  /** MariaDB extended capabilities (0 for MySQL servers) */
  mariadbCapabilities: number;
  charset: number;
  status: number;
  authPlugin: string;
}

export function encodeHandshakeV10(h: HandshakeV10): Buffer {
  // capabilities (low 2), charset, status (2), capabilities (high 2), auth data length, 10 reserved
  // bytes whose last 4 carry MariaDB's extended capabilities
  const fixed = Buffer.alloc(18);
  fixed.writeUInt16LE(h.capabilities & 0xffff, 0);
  fixed[2] = h.charset;
  fixed.writeUInt16LE(h.status, 3);
  fixed.writeUInt16LE((h.capabilities >>> 16) & 0xffff, 5);
  fixed[7] = h.scramble.length + 1;
  fixed.writeUInt32LE(h.mariadbCapabilities >>> 0, 14);
  const tid = Buffer.allocUnsafe(4);
  tid.writeUInt32LE(h.threadId >>> 0, 0);
  return Buffer.concat([
    Buffer.from([10]),
    nul(h.serverVersion),
    tid,
    h.scramble.subarray(0, 8),
    Buffer.from([0]),
    fixed,
    h.scramble.subarray(8),
    Buffer.from([0]),
    nul(h.authPlugin),
  ]);
}

export function decodeHandshakeV10(p: Buffer): HandshakeV10 {
  if (p[0] === PacketHeader.Err) throw new DecodeError(`server refused the connection: ${decodeErr(p).message}`);
  if (p[0] !== 10) throw new DecodeError(`unsupported protocol version ${p[0]}`);
  const [serverVersion, o1] = readNulString(p, 1);
  if (o1 + 4 + 8 + 1 + 2 > p.length) throw new DecodeError('short handshake');
  const threadId = p.readUInt32LE(o1);
  const part1 = p.subarray(o1 + 4, o1 + 12);
  let off = o1 + 13;
  let capabilities = p.readUInt16LE(off);
  off += 2;
  let charset = 0;
  let status = 0;
  let mariadbCapabilities = 0;
  let authPlugin = '';
  let part2: Buffer = Buffer.alloc(0);
  if (off + 16 <= p.length) {
    charset = p[off]!;
    status = p.readUInt16LE(off + 1);
    capabilities = (capabilities | (p.readUInt16LE(off + 3) << 16)) >>> 0;
    const authLen = p[off + 5]!;
    if (!(capabilities & Capability.LongPassword)) mariadbCapabilities = p.readUInt32LE(off + 12);
    off += 16;
    if (capabilities & Capability.SecureConnection) {
      const len = Math.max(13, authLen - 8);
      part2 = p.subarray(off, Math.min(p.length, off + len));
      off += len;
      // the part is NUL-terminated on the wire; the scramble proper is 12 bytes
      if (part2.length && part2[part2.length - 1] === 0) part2 = part2.subarray(0, part2.length - 1);
    }
    if (capabilities & Capability.PluginAuth && off < p.length) {
      const end = p.indexOf(0, off);
      authPlugin = p.toString('utf8', off, end < 0 ? p.length : end);
    }
  }
  return { serverVersion, threadId, scramble: Buffer.concat([part1, part2]), capabilities, mariadbCapabilities, charset, status, authPlugin };
}

// ---- HandshakeResponse41 / SSLRequest ----

export interface HandshakeResponse {
  capabilities: number;
  mariadbCapabilities: number;
  maxPacketSize: number;
  charset: number;
  user: string;
  authResponse: Buffer;
  database?: string;
  authPlugin?: string;
  attributes: Map<string, string>;
}

/** The 32-byte prefix every HandshakeResponse41 starts with; alone (with CLIENT_SSL) it is the SSLRequest. */
export function encodeResponsePrefix(caps: number, mariadbCaps: number, maxPacketSize: number, charset: number): Buffer {
  const b = Buffer.alloc(32);
  b.writeUInt32LE(caps >>> 0, 0);
  b.writeUInt32LE(maxPacketSize >>> 0, 4);
  b[8] = charset;
  if (!(caps & Capability.LongPassword)) b.writeUInt32LE(mariadbCaps >>> 0, 28);
  return b;
}

export function encodeHandshakeResponse41(r: HandshakeResponse): Buffer {
  const parts: Buffer[] = [encodeResponsePrefix(r.capabilities, r.mariadbCapabilities, r.maxPacketSize, r.charset), nul(r.user)];
  if (r.capabilities & Capability.PluginAuthLenencClientData) parts.push(lenencBytes(r.authResponse));
  else parts.push(Buffer.from([r.authResponse.length]), r.authResponse);
  if (r.capabilities & Capability.ConnectWithDb) parts.push(nul(r.database ?? ''));
  if (r.capabilities & Capability.PluginAuth) parts.push(nul(r.authPlugin ?? ''));
  if (r.capabilities & Capability.ConnectAttrs) {
    const kv = Buffer.concat([...r.attributes].flatMap(([k, v]) => [lenencBytes(k), lenencBytes(v)]));
    parts.push(lenencInt(kv.length), kv);
  }
  return Buffer.concat(parts);
}

/** True when the packet is an SSLRequest (the 32-byte prefix alone, with CLIENT_SSL). */
export function isSslRequest(p: Buffer): boolean {
  return p.length === 32 && (p.readUInt32LE(0) & Capability.Ssl) !== 0;
}

/** Limits on what a client may send during the handshake: the fields are buffered before anyone is authenticated. */
export const HANDSHAKE_LIMITS = { user: 256, authResponse: 1024, database: 256, plugin: 64, attributes: 65_536 } as const;

/**
 * The auth response of a HandshakeResponse41 or COM_CHANGE_USER without PLUGIN_AUTH_LENENC_CLIENT_DATA: one length
 * byte (SECURE_CONNECTION) or NUL-terminated. Throws DecodeError when it runs past the packet.
 */
export function readShortAuthResponse(c: ByteCursor, capabilities: number): Buffer {
  if (capabilities & Capability.SecureConnection) {
    if (c.atEnd) throw new DecodeError('missing auth response');
    const len = c.u8();
    if (len > c.remaining) throw new DecodeError('auth response past the end of the packet');
    return c.bytes(len);
  }
  const end = c.buf.indexOf(0, c.off);
  if (end < 0) throw new DecodeError('auth response not terminated');
  const b = c.bytes(end - c.off);
  c.skip(1);
  return b;
}

/** The fields both logins end with (HandshakeResponse41 and COM_CHANGE_USER): the plugin name and the attributes. */
export function readLoginTail(c: ByteCursor, capabilities: number): { authPlugin?: string; attributes: Map<string, string> } {
  let authPlugin: string | undefined;
  if (capabilities & Capability.PluginAuth && !c.atEnd) {
    authPlugin = c.cstringOrRest();
    if (authPlugin.length > HANDSHAKE_LIMITS.plugin) throw new DecodeError('auth plugin name too long');
  }
  const attributes = new Map<string, string>();
  if (capabilities & Capability.ConnectAttrs && !c.atEnd) {
    const total = c.lenenc();
    if (total > HANDSHAKE_LIMITS.attributes) throw new DecodeError('connection attributes too long');
    if (total > c.remaining) throw new DecodeError('connection attributes past the end of the packet');
    // the attributes are read inside their own length: a key or value running past it is malformed
    const a = cursor(c.bytes(total));
    while (!a.atEnd) {
      const k = a.lenencBytes();
      const v = a.lenencBytes();
      attributes.set(k.toString('utf8'), v.toString('utf8'));
    }
  }
  return { ...(authPlugin !== undefined ? { authPlugin } : {}), attributes };
}

export function decodeHandshakeResponse41(p: Buffer): HandshakeResponse {
  if (p.length < 33) throw new DecodeError('short handshake response');
  const c = cursor(p);
  const capabilities = c.u32le();
  if (!(capabilities & Capability.Protocol41)) throw new DecodeError('client does not speak protocol 4.1');
  const maxPacketSize = c.u32le();
  const charset = c.u8();
  const mariadbCapabilities = capabilities & Capability.LongPassword ? 0 : p.readUInt32LE(28);
  c.off = 32;
  const user = c.cstring();
  if (Buffer.byteLength(user) > HANDSHAKE_LIMITS.user) throw new DecodeError('user name too long');
  let authResponse: Buffer;
  if (capabilities & Capability.PluginAuthLenencClientData) {
    if (readLenencInt(p, c.off)[0] > HANDSHAKE_LIMITS.authResponse) throw new DecodeError('auth response too long');
    authResponse = c.lenencBytes();
  } else {
    authResponse = readShortAuthResponse(c, capabilities);
  }
  let database: string | undefined;
  if (capabilities & Capability.ConnectWithDb && !c.atEnd) {
    database = c.cstring();
    if (Buffer.byteLength(database) > HANDSHAKE_LIMITS.database) throw new DecodeError('database name too long');
    if (database === '') database = undefined;
  }
  const { authPlugin, attributes } = readLoginTail(c, capabilities);
  return { capabilities, mariadbCapabilities, maxPacketSize, charset, user, authResponse, database, authPlugin, attributes };
}

// ---- generic response packets ----

export interface OkPacket {
  affectedRows: bigint;
  lastInsertId: bigint;
  status: number;
  warnings: number;
}

export function encodeOk(o: Partial<OkPacket> = {}): Buffer {
  const tail = Buffer.alloc(4);
  tail.writeUInt16LE(o.status ?? 0, 0);
  tail.writeUInt16LE(o.warnings ?? 0, 2);
  return Buffer.concat([Buffer.from([PacketHeader.Ok]), lenencInt(o.affectedRows ?? 0n), lenencInt(o.lastInsertId ?? 0n), tail]);
}

/**
 * Status flags and warnings of an OK (0x00), of the 0xFE OK that ends a result set under
 * CLIENT_DEPRECATE_EOF, or of a classic EOF. The relay passes these packets through and needs only the flags:
 * affected rows and last insert id are skipped, never valued, so an id of 2^53 or more (negative
 * AUTO_INCREMENT ids arrive as unsigned 64-bit) cannot break a session whose statement already committed.
 * Never throws: a packet too short to hold the flags reads as status 0.
 */
export function decodeStatus(p: Buffer): { status: number; warnings: number } {
  if (p[0] === PacketHeader.Eof && p.length <= 5) {
    // classic EOF: 0xFE, warnings(2), status(2); the 0xFE OK is at least 7 bytes
    return { warnings: p.length >= 3 ? p.readUInt16LE(1) : 0, status: p.length >= 5 ? p.readUInt16LE(3) : 0 };
  }
  const a = skipLenencInt(p, 1);
  const off = a < 0 ? -1 : skipLenencInt(p, a);
  if (off < 0 || off + 2 > p.length) return { status: 0, warnings: 0 };
  return { status: p.readUInt16LE(off), warnings: off + 4 <= p.length ? p.readUInt16LE(off + 2) : 0 };
}

/** A whole OK packet; counters as bigint (they are unsigned 64-bit on the wire). */
export function decodeOk(p: Buffer): OkPacket {
  const [affectedRows, o1] = readLenencBigInt(p, 1);
  const [lastInsertId, o2] = readLenencBigInt(p, o1);
  return { affectedRows, lastInsertId, status: o2 + 2 <= p.length ? p.readUInt16LE(o2) : 0, warnings: o2 + 4 <= p.length ? p.readUInt16LE(o2 + 2) : 0 };
}

export function encodeErr(spec: ErrSpec, message: string): Buffer {
  const head = Buffer.allocUnsafe(3);
  head[0] = PacketHeader.Err;
  head.writeUInt16LE(spec.errno, 1);
  return Buffer.concat([head, Buffer.from('#' + spec.sqlState, 'latin1'), Buffer.from(message, 'utf8')]);
}

/** The broker's own ERR: its BRK_* code decides errno and SQLSTATE (mysql/codes.ts). */
export function encodeBrokerErr(code: ErrorCode, message: string): Buffer {
  return encodeErr(errOf(code), message);
}

export function decodeErr(p: Buffer): { errno: number; sqlState: string; message: string } {
  if (p.length < 3 || p[0] !== PacketHeader.Err) throw new DecodeError('not an ERR packet');
  const errno = p.readUInt16LE(1);
  if (p[3] === 0x23 /* # */ && p.length >= 9) return { errno, sqlState: p.toString('latin1', 4, 9), message: p.toString('utf8', 9) };
  return { errno, sqlState: GENERAL_SQLSTATE, message: p.toString('utf8', 3) };
}

export function encodeEof(status: number, warnings = 0): Buffer {
  const b = Buffer.alloc(5);
  b[0] = PacketHeader.Eof;
  b.writeUInt16LE(warnings, 1);
  b.writeUInt16LE(status, 3);
  return b;
}

// ---- authentication exchange ----

export function encodeAuthSwitchRequest(plugin: string, data: Buffer): Buffer {
  return Buffer.concat([Buffer.from([PacketHeader.Eof]), nul(plugin), data]);
}

export function decodeAuthSwitchRequest(p: Buffer): { plugin: string; data: Buffer } {
  const [plugin, off] = readNulString(p, 1);
  let data = p.subarray(off);
  if (data.length && data[data.length - 1] === 0) data = data.subarray(0, data.length - 1);
  return { plugin, data };
}

export function encodeAuthMoreData(data: Buffer): Buffer {
  return Buffer.concat([Buffer.from([PacketHeader.AuthMoreData]), data]);
}

// ---- commands ----

export function encodeComQuery(text: string): Buffer {
  return Buffer.concat([Buffer.from([0x03]), Buffer.from(text, 'utf8')]);
}

/**
 * The first column of a one-row text result set (the answer to a broker-sent `SELECT @@x`), given the
 * payloads of its packets in order.
 */
export function firstTextValue(packets: Buffer[], deprecateEof: boolean): string | null {
  const [cols] = readLenencInt(packets[0]!, 0);
  const rowAt = 1 + cols + (deprecateEof ? 0 : 1);
  const row = packets[rowAt];
  if (!row || (row[0] === PacketHeader.Eof && row.length < 9) || row[0] === PacketHeader.Err) return null;
  if (row[0] === 0xfb) return null;
  return readLenencBytes(row, 0)[0].toString('utf8');
}
