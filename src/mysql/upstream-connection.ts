// Connects to the real MySQL/MariaDB server as the role mapped to the grant: TCP, greeting, optional TLS,
// authentication (mysql_native_password, caching_sha2_password fast and full, clear over TLS), then reads
// the session's sql_mode. Also the side connection that runs KILL QUERY for a running statement.
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { connectTcp, upgradeTls as upgradeSocket, type UpstreamTls } from '../wire/upstream-socket.js';
import { cachingSha2Token, rsaEncryptPassword } from '../auth/caching-sha2-password.js';
import { nativeToken } from '../auth/mysql-native-password.js';
import { BrokerError, ErrorCode } from '../errors.js';
import { AuthPlugin, Capability, Command, FRAMING_CAPABILITIES, PacketHeader, Sha2Code, STRIPPED_CAPABILITIES } from './codes.js';
import { PacketReader } from './packet-reader.js';
import {
  DecodeError,
  decodeAuthSwitchRequest,
  decodeErr,
  decodeHandshakeV10,
  decodeOk,
  encodeComQuery,
  encodeHandshakeResponse41,
  encodePacket,
  encodeResponsePrefix,
  firstTextValue,
  type HandshakeV10,
} from './packets.js';

export type UpstreamTlsMode = 'disable' | 'prefer' | 'require' | 'verify-full';

export interface UpstreamOptions {
  host: string;
  port: number;
  user: string;
  password?: string;
  database?: string;
  tls: UpstreamTlsMode;
  caFile?: string;
  serverName?: string;
  /** capabilities the client negotiated with the broker; the upstream gets the same framing */
  capabilities: number;
  mariadbCapabilities: number;
  charset: number;
  maxPacketSize?: number;
  attributes?: Map<string, string>;
  /** read @@sql_mode after login (the relay needs it to read statements as the server will) */
  readSqlMode?: boolean;
  timeoutMs?: number;
}

export interface UpstreamConnection {
  socket: Socket | TLSSocket;
  greeting: HandshakeV10;
  threadId: number;
  serverVersion: string;
  /** capabilities in force on this connection */
  capabilities: number;
  mariadbCapabilities: number;
  /** server status flags of the final OK */
  status: number;
  sqlMode: string;
  /** the session's character_set_client as the server reports it (read with sql_mode) */
  clientCharset: string;
  /** bytes received after the handshake (normally none) */
  rest: Buffer;
  tls: boolean;
}

/** An upstream refusal the broker keeps to itself (the client only learns the target is unavailable). */
export class UpstreamError extends BrokerError {}

function tcp(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return connectTcp(host, port, timeoutMs).catch((e: Error) => {
    throw new UpstreamError(ErrorCode.UPSTREAM_UNAVAILABLE, e.message);
  });
}

function upgradeTls(sock: Socket, o: UpstreamOptions): Promise<TLSSocket> {
  return upgradeSocket(sock, { mode: o.tls as UpstreamTls['mode'], host: o.host, serverName: o.serverName, caFile: o.caFile }).catch((e: Error) => {
    throw new UpstreamError(ErrorCode.UPSTREAM_UNAVAILABLE, e.message);
  });
}

function tokenFor(plugin: string, password: string, scramble: Buffer): Buffer {
  if (plugin === AuthPlugin.Native) return nativeToken(password, scramble);
  if (plugin === AuthPlugin.CachingSha2) return cachingSha2Token(password, scramble);
  throw new UpstreamError(ErrorCode.UPSTREAM_AUTH_FAILED, `unsupported upstream authentication plugin ${plugin}`);
}

/** Reads the upstream greeting only (no login): its version and capabilities, for the broker's own greeting. */
export async function probeUpstream(host: string, port: number, timeoutMs = 3000): Promise<HandshakeV10> {
  const sock = await tcp(host, port, timeoutMs);
  try {
    const reader = new PacketReader(sock);
    const { payload } = await reader.read(timeoutMs, 0);
    return decodeHandshakeV10(payload);
  } catch (e) {
    throw e instanceof DecodeError ? new UpstreamError(ErrorCode.UPSTREAM_UNAVAILABLE, e.message) : e;
  } finally {
    sock.destroy();
  }
}

export async function connectUpstream(o: UpstreamOptions): Promise<UpstreamConnection> {
  const timeoutMs = o.timeoutMs ?? 10_000;
  const raw = await tcp(o.host, o.port, timeoutMs);
  let sock: Socket | TLSSocket = raw;
  try {
    let reader = new PacketReader(sock, 1 << 20);
    const greeting = decodeHandshakeV10((await reader.read(timeoutMs, 0)).payload);
    const server = greeting.capabilities;
    const mariadb = !(server & Capability.LongPassword);
    let caps = (o.capabilities & server & ~STRIPPED_CAPABILITIES & ~Capability.Ssl) | Capability.Protocol41;
    // the relay forwards bytes unchanged, so both legs must frame packets the same way
    if ((caps & FRAMING_CAPABILITIES) !== (o.capabilities & FRAMING_CAPABILITIES & ~STRIPPED_CAPABILITIES)) {
      throw new UpstreamError(ErrorCode.UPSTREAM_UNAVAILABLE, 'upstream lacks protocol capabilities the client negotiated');
    }
    for (const c of [Capability.SecureConnection, Capability.PluginAuth, Capability.PluginAuthLenencClientData]) if (server & c) caps |= c;
    if (o.database) caps |= Capability.ConnectWithDb & server;
    else caps &= ~Capability.ConnectWithDb;
    if (o.attributes && server & Capability.ConnectAttrs) caps |= Capability.ConnectAttrs;
    else caps &= ~Capability.ConnectAttrs;
    let mariadbCaps = 0;
    if (mariadb && !(o.capabilities & Capability.LongPassword)) {
      mariadbCaps = o.mariadbCapabilities & greeting.mariadbCapabilities;
      caps &= ~Capability.LongPassword;
    } else {
      caps |= Capability.LongPassword;
    }
    const maxPacketSize = o.maxPacketSize ?? 1 << 30;
    let seq = 1;
    if (o.tls !== 'disable') {
      if (server & Capability.Ssl) {
        caps |= Capability.Ssl;
        sock.write(encodePacket(seq++, encodeResponsePrefix(caps, mariadbCaps, maxPacketSize, o.charset)));
        // plaintext bytes after the greeting could be injected by a man in the middle; refuse them
        if (reader.buffered > 0) throw new UpstreamError(ErrorCode.UPSTREAM_UNAVAILABLE, 'unexpected bytes before the TLS handshake');
        reader.detach();
        sock = await upgradeTls(raw, o);
        reader = new PacketReader(sock, 1 << 20);
        reader.lastSeq = seq - 1;
      } else if (o.tls !== 'prefer') {
        throw new UpstreamError(ErrorCode.UPSTREAM_UNAVAILABLE, `upstream ${o.host}:${o.port} does not offer TLS (tls: ${o.tls})`);
      }
    }
    const secure = sock !== raw;
    const password = o.password ?? '';
    let plugin = greeting.authPlugin || AuthPlugin.Native;
    let scramble = greeting.scramble;
    const first = plugin === AuthPlugin.Native || plugin === AuthPlugin.CachingSha2 ? tokenFor(plugin, password, scramble) : Buffer.alloc(0);
    sock.write(encodePacket(seq, encodeHandshakeResponse41({
      capabilities: caps, mariadbCapabilities: mariadbCaps, maxPacketSize, charset: o.charset, user: o.user,
      authResponse: first, database: o.database, authPlugin: plugin, attributes: o.attributes ?? new Map(),
    })));
    reader.lastSeq = seq;
    let status = 0;
    const send = (payload: Buffer) => {
      const n = reader.nextSeq;
      sock.write(encodePacket(n, payload));
      reader.lastSeq = n;
    };
    for (;;) {
      const { payload: p } = await reader.read(timeoutMs, reader.nextSeq);
      if (p[0] === PacketHeader.Ok) {
        status = decodeOk(p).status;
        break;
      }
      if (p[0] === PacketHeader.Err) {
        const e = decodeErr(p);
        throw new UpstreamError(ErrorCode.UPSTREAM_AUTH_FAILED, `upstream refused the login: ${e.errno} ${e.message}`, { errno: e.errno });
      }
      if (p[0] === PacketHeader.Eof) {
        const sw = decodeAuthSwitchRequest(p);
        plugin = sw.plugin;
        scramble = sw.data;
        if (plugin === AuthPlugin.Clear) {
          // the password itself would cross the wire: only over TLS
          if (!secure) throw new UpstreamError(ErrorCode.UPSTREAM_AUTH_FAILED, 'upstream asks for a cleartext password without TLS');
          send(Buffer.from(password + '\0', 'utf8'));
        } else {
          send(tokenFor(plugin, password, scramble));
        }
        continue;
      }
      if (p[0] === PacketHeader.AuthMoreData && plugin === AuthPlugin.CachingSha2) {
        if (p[1] === Sha2Code.FastAuthSuccess) continue;
        if (p[1] === Sha2Code.PerformFullAuthentication) {
          if (secure) {
            send(Buffer.from(password + '\0', 'utf8'));
          } else {
            send(Buffer.from([Sha2Code.RequestPublicKey]));
            const key = await reader.read(timeoutMs, reader.nextSeq);
            if (key.payload[0] !== PacketHeader.AuthMoreData) throw new UpstreamError(ErrorCode.UPSTREAM_AUTH_FAILED, 'upstream sent no public key');
            send(rsaEncryptPassword(password, scramble, key.payload.subarray(1)));
          }
          continue;
        }
      }
      throw new UpstreamError(ErrorCode.UPSTREAM_AUTH_FAILED, `unexpected packet 0x${(p[0] ?? 0).toString(16)} during upstream authentication`);
    }
    let sqlMode = '';
    let clientCharset = '';
    if (o.readSqlMode) {
      sock.write(encodePacket(0, encodeComQuery(READING_PROBE)));
      reader.lastSeq = 0;
      const packets: Buffer[] = [];
      const deprecateEof = (caps & Capability.DeprecateEof) !== 0;
      let eofs = 0;
      for (;;) {
        const { payload: p } = await reader.read(timeoutMs);
        packets.push(p);
        if (p[0] === PacketHeader.Err || (packets.length === 1 && p[0] === PacketHeader.Ok)) break;
        if (p[0] === PacketHeader.Eof && p.length < 9) {
          eofs++;
          if (deprecateEof || eofs === 2) break;
        }
      }
      if (packets[0]![0] !== PacketHeader.Err && packets[0]![0] !== PacketHeader.Ok) [clientCharset, sqlMode] = splitReadingProbe(firstTextValue(packets, deprecateEof) ?? '');
    }
    const rest = reader.detach();
    sock.pause();
    return {
      socket: sock, greeting, threadId: greeting.threadId, serverVersion: greeting.serverVersion, capabilities: caps,
      mariadbCapabilities: mariadbCaps, status, sqlMode, clientCharset, rest, tls: secure,
    };
  } catch (e) {
    sock.destroy();
    raw.destroy();
    if (e instanceof DecodeError) throw new UpstreamError(ErrorCode.UPSTREAM_UNAVAILABLE, `upstream: ${e.message}`);
    throw e;
  }
}

/**
 * Interrupts the statement an upstream thread is running: a side connection as the same role runs
 * `KILL QUERY <id>` (a role may always kill its own threads) and hangs up. Never throws.
 */
export async function killUpstreamQuery(o: Omit<UpstreamOptions, 'capabilities' | 'mariadbCapabilities' | 'charset'>, threadId: number): Promise<boolean> {
  let conn: UpstreamConnection | undefined;
  try {
    conn = await connectUpstream({
      ...o, database: undefined, attributes: undefined, readSqlMode: false, timeoutMs: o.timeoutMs ?? 5000,
      capabilities: Capability.Protocol41 | Capability.SecureConnection | Capability.PluginAuth | Capability.LongPassword | Capability.Transactions,
      mariadbCapabilities: 0, charset: 45,
    });
    const reader = new PacketReader(conn.socket);
    conn.socket.resume();
    conn.socket.write(encodePacket(0, encodeComQuery(`KILL QUERY ${Math.trunc(threadId)}`)));
    const { payload } = await reader.read(5000, 1);
    conn.socket.end(encodePacket(0, Buffer.from([Command.Quit])));
    return payload[0] === PacketHeader.Ok;
  } catch {
    return false;
  } finally {
    if (conn) setTimeout(() => conn!.socket.destroy(), 1000).unref();
  }
}

/** One value holding the two settings that decide how statement text is read (sql_mode has no spaces). */
export const READING_PROBE = "SELECT CONCAT(@@SESSION.character_set_client, ' ', @@SESSION.sql_mode)";

/** READING_PROBE's answer → [character_set_client, sql_mode]. */
export function splitReadingProbe(v: string): [string, string] {
  const sp = v.indexOf(' ');
  return sp < 0 ? [v, ''] : [v.slice(0, sp), v.slice(sp + 1)];
}
