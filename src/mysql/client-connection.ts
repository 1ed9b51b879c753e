// One MySQL client connection, from the greeting to close: HandshakeV10, optional TLS upgrade,
// HandshakeResponse41, authentication against the grant, the upstream connection, then the relay.
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { AuditSink } from '../audit/events.js';
import type { Config } from '../config/schema.js';
import { BrokerError, ErrorCode, isBrokerError } from '../errors.js';
import type { Grant } from '../grants/model.js';
import { lazyChild, type Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import { upstreamUnavailable, type Admission, type Admissions, type Refusal } from '../session/admission.js';
import type { SessionRegistry } from '../session/registry.js';
import type { Session } from '../session/session.js';
import type { TlsMaterial } from '../wire/tls.js';
import { authenticateClient, type ClientAuthOptions } from './client-auth.js';
import {
  Capability,
  DEFAULT_CHARSET,
  DEFAULT_UPSTREAM_CAPABILITIES,
  STRIPPED_CAPABILITIES,
  SUPPORTED_CAPABILITIES,
  SUPPORTED_MARIADB_CAPABILITIES,
  ServerStatus,
} from './codes.js';
import { PacketReader } from './packet-reader.js';
import { decodeChangeUser } from './change-user.js';
import { DecodeError, decodeHandshakeResponse41, encodeBrokerErr, encodeHandshakeV10, encodeOk, encodePacket, isSslRequest, type HandshakeResponse, type HandshakeV10 } from './packets.js';
import { MysqlReadingState } from './reading-state.js';
import { MysqlRelay } from './relay.js';
import type { RsaKeyPair } from './rsa-key.js';
import type { ThreadIds } from './thread-ids.js';
import { decideFunctionCalls, decideNullScopes, traceViews } from './catalog.js';
import { connectUpstream, killUpstreamQuery, type UpstreamConnection } from './upstream-connection.js';

export interface MysqlDeps {
  registry: SessionRegistry;
  /** login admission, shared with the PostgreSQL listener */
  admissions: Admissions;
  /** the greetings of the MySQL targets are probed at listener start */
  targets: Config['targets'];
  tls: TlsMaterial | null;
  tlsClients: 'prefer' | 'require' | 'disable';
  limits: Config['limits'];
  metrics: Metrics;
  logger: Logger;
  audit: AuditSink;
  /** key of the `hash` mask, the same as the PostgreSQL listener's */
  maskHashKey?: Buffer;
}

/** Per-listener state shared by its connections. */
export interface MysqlListenerState {
  threads: ThreadIds;
  rsa(): Promise<RsaKeyPair>;
  /** the upstream greeting the broker's own greeting is modelled on (version, capabilities) */
  greeting(): HandshakeV10 | undefined;
  /** remembers an upstream's greeting for the next clients */
  sawGreeting(target: string, g: HandshakeV10): void;
  auth: ClientAuthOptions;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** 20 random bytes without NUL (clients read the scramble as a C string) and below 0x80, as servers send. */
function newScramble(): Buffer {
  const s = randomBytes(20);
  for (let i = 0; i < s.length; i++) {
    s[i] = s[i]! & 0x7f;
    if (s[i] === 0 || s[i] === 0x24) s[i] = 0x41 + (i % 26);
  }
  return s;
}

export async function handleMysqlClient(raw: Socket, deps: MysqlDeps, state: MysqlListenerState): Promise<void> {
  raw.setNoDelay(true);
  const address = raw.remoteAddress?.replace(/^::ffff:/, '') ?? 'unknown';
  const client = `${address}:${raw.remotePort ?? 0}`;
  const log = lazyChild(deps.logger, () => ({ client, protocol: 'mysql' }));
  let sock: Duplex = raw;
  let reader = new PacketReader(sock);
  let secured = false;
  const threadId = state.threads.reserve();
  raw.on('error', () => undefined);
  raw.once('close', () => state.threads.release(threadId));
  const send = (payload: Buffer) => {
    const seq = reader.nextSeq;
    sock.write(encodePacket(seq, payload));
    reader.lastSeq = seq;
  };
  /** A refusal as the ERR its BRK_* code maps to (mysql/codes.ts). */
  const refuse = (code: ErrorCode, message: string) => {
    sock.end(encodePacket(reader.nextSeq, encodeBrokerErr(code, message)));
  };
  /** The core's refusal. */
  const refused = (r: Refusal) => refuse(r.code, r.message);
  const count = (target: string, outcome: 'ok' | 'rejected' | 'upstream_error' | 'protocol_error') => deps.admissions.count('mysql', target, outcome);
  let caps = 0;
  let advertisedMariadb = 0;
  let scramble: Buffer = Buffer.alloc(0);

  /**
   * After a successful login (or COM_CHANGE_USER): the database check, the upstream connection as the grant's
   * role, the session and the relay, then the OK. `previous` is the session a COM_CHANGE_USER replaces.
   */
  async function begin(admission: Admission, login: string, resp: HandshakeResponse, previous: Session | null): Promise<void> {
    const ending = (reason: string) => previous?.end(reason);
    const { grant, target, role, database } = admission;

    // --- upstream ---
    const t0 = process.hrtime.bigint();
    const attributes = new Map(resp.attributes);
    attributes.set('_dbwarden_client', client);
    let upstream: UpstreamConnection;
    const upstreamBase = { host: target.host, port: target.port, user: role.user, password: role.password, tls: target.tls, caFile: target.caFile, serverName: target.serverName, timeoutMs: target.connectTimeoutMs };
    try {
      upstream = await connectUpstream({
        ...upstreamBase,
        database,
        capabilities: caps & ~STRIPPED_CAPABILITIES,
        mariadbCapabilities: resp.mariadbCapabilities & advertisedMariadb,
        charset: resp.charset,
        maxPacketSize: resp.maxPacketSize || undefined,
        attributes: caps & Capability.ConnectAttrs ? attributes : undefined,
        readSqlMode: true,
      });
    } catch (e) {
      count(grant.target, 'upstream_error');
      log.warn({ target: grant.target, err: (e as Error).message }, 'upstream connection failed');
      ending('change user failed');
      return refused(upstreamUnavailable(grant.target));
    }
    // a character set whose characters can hide ASCII bytes (gbk, sjis, big5, cp932, gb18030: by handshake collation
    // or the account's default): statements could not be read the way the server reads them (charset smuggling)
    const unsafeCharset = upstream.clientCharset ? MysqlReadingState.refusal(upstream.clientCharset) : null;
    if (unsafeCharset) {
      upstream.socket.destroy();
      count(grant.target, 'rejected');
      ending('change user refused');
      return refuse(ErrorCode.ENCODING_UNSAFE, unsafeCharset);
    }
    // a sql_mode the broker cannot read under (PIPES_AS_CONCAT, ORACLE, … from the server's or account's default)
    const unreadableMode = MysqlReadingState.modeRefusal(upstream.sqlMode);
    if (unreadableMode) {
      upstream.socket.destroy();
      count(grant.target, 'rejected');
      ending('change user refused');
      return refuse(ErrorCode.SESSION_UNREADABLE, unreadableMode);
    }
    state.sawGreeting(grant.target, upstream.greeting);
    deps.metrics.upstreamConnectSeconds.observe({ target: grant.target }, Number(process.hrtime.bigint() - t0) / 1e9);
    count(grant.target, 'ok');

    // the audit shows the old session ending before the new one starts
    ending('change user');
    let session: Session;
    try {
      session = deps.registry.open({ grant, protocol: 'mysql', database, client, dialect: 'mysql' });
    } catch (e) {
      // the upstream connection must not outlive a refused session (a leaked socket also kept `serve` from exiting)
      upstream.socket.destroy();
      throw e;
    }
    state.threads.bind(threadId, session, upstream.threadId);
    if (session.guard.masks.length) await traceViews(session, upstreamBase, target.roles.catalog ?? role);
    if (session.guard.ctx.access === 'read') await decideFunctionCalls(session, upstreamBase, target.roles.catalog ?? role);
    await decideNullScopes(session, upstreamBase, target.roles.catalog ?? role);
    const rest = reader.detach();
    sock.pause();
    const relay = new MysqlRelay(sock, upstream.socket, session, {
      metrics: deps.metrics,
      maxQueryBytes: deps.limits.maxQueryBytes,
      capabilities: caps,
      login,
      host: address,
      serverVersion: upstream.serverVersion,
      sqlMode: upstream.sqlMode,
      clientCharset: upstream.clientCharset,
      threads: state.threads,
      killQuery: () => killUpstreamQuery(upstreamBase, upstream.threadId),
      maskHashKey: deps.maskHashKey,
      changeUser: (payload) => void changeUser(payload, session).catch((e: Error) => {
        log.info({ err: e.message }, 'COM_CHANGE_USER failed');
        session.end('change user failed');
        if (sock.writable) refuse(ErrorCode.PROTOCOL_VIOLATION, `dbwarden: ${e.message}`);
        setTimeout(() => raw.destroy(), 1000).unref();
      }),
    });
    send(encodeOk({ status: upstream.status || ServerStatus.Autocommit }));
    relay.start(rest, upstream.rest);
    log.debug({ session: session.id, threadId, upstreamThread: upstream.threadId }, 'mysql session relaying');
  }

  /**
   * COM_CHANGE_USER as a new login on the same client connection: the credentials are checked against the
   * grant they name (another grant's, or the same one, which pools send to reset a connection), always with a
   * fresh scramble (an AuthSwitchRequest), so an answer seen on the wire earlier cannot be replayed. The old
   * session ends in the audit, a new one starts on a new upstream connection. A failed attempt closes the
   * connection, as the server does.
   */
  async function changeUser(payload: Buffer, previous: Session): Promise<void> {
    reader = new PacketReader(sock);
    reader.lastSeq = 0;
    sock.resume();
    const resp = decodeChangeUserPacket(payload, caps);
    resp.maxPacketSize = 0;
    resp.mariadbCapabilities = advertisedMariadb;
    if (!resp.charset) resp.charset = DEFAULT_CHARSET;
    const login = resp.user;
    const grant = await deps.admissions.grantFor(login);
    scramble = newScramble();
    // no plugin named: authenticateClient switches the client to the broker's plugin with this fresh scramble
    const outcome = await authenticateClient(
      { reader, send, secure: secured, scramble, rsa: state.rsa },
      { ...resp, authPlugin: '', authResponse: Buffer.alloc(0) },
      grant?.verifiers,
      state.auth,
    );
    const admission = await deps.admissions.admit({
      protocol: 'mysql', login, address, client, database: resp.database, grant, proof: { ok: outcome.ok, passwordGiven: outcome.passwordGiven },
    });
    if (!admission.ok) {
      previous.end(admission.code === ErrorCode.AUTH_FAILED ? 'change user failed' : 'change user refused');
      return refused(admission);
    }
    await begin(admission, login, resp, previous);
  }

  try {
    // --- greeting ---
    const upstreamHello = state.greeting();
    scramble = newScramble();
    const offerTls = !!deps.tls && deps.tlsClients !== 'disable';
    const mariadb = !!upstreamHello && !(upstreamHello.capabilities & Capability.LongPassword);
    let advertised = (SUPPORTED_CAPABILITIES & (upstreamHello?.capabilities ?? DEFAULT_UPSTREAM_CAPABILITIES) & ~Capability.Ssl) |
      Capability.Protocol41 | Capability.SecureConnection | Capability.PluginAuth;
    if (offerTls) advertised |= Capability.Ssl;
    // a MariaDB upstream's extended capabilities only reach clients that see MariaDB's form of the greeting
    if (mariadb) advertised &= ~Capability.LongPassword;
    else advertised |= Capability.LongPassword;
    advertisedMariadb = mariadb ? SUPPORTED_MARIADB_CAPABILITIES & upstreamHello!.mariadbCapabilities : 0;
    reader.lastSeq = 0;
    sock.write(encodePacket(0, encodeHandshakeV10({
      serverVersion: upstreamHello?.serverVersion ?? '8.0.0-dbwarden',
      threadId,
      scramble,
      capabilities: advertised,
      mariadbCapabilities: advertisedMariadb,
      charset: upstreamHello?.charset || DEFAULT_CHARSET,
      status: ServerStatus.Autocommit,
      authPlugin: state.auth.plugins[0]!,
    })));

    // --- SSLRequest / HandshakeResponse41 ---
    let first = await reader.read(30_000, 1);
    if (isSslRequest(first.payload)) {
      if (!offerTls) throw new BrokerError(ErrorCode.PROTOCOL_VIOLATION, 'SSL requested but not offered');
      // A MySQL client sends its TLS ClientHello right after the SSLRequest without waiting, so bytes already
      // read belong to TLS: they go to the TLS socket and nothing after the SSLRequest is ever read as plaintext
      // (which is what stops a man in the middle injecting commands before the upgrade).
      const early = reader.detach();
      raw.pause();
      if (early.length) raw.unshift(early);
      const tlsSock = new TLSSocket(raw, { isServer: true, secureContext: deps.tls!.context });
      tlsSock.on('error', () => undefined);
      await new Promise<void>((resolve, reject) => {
        tlsSock.once('secure', resolve);
        tlsSock.once('error', reject);
        tlsSock.once('close', () => reject(new BrokerError(ErrorCode.PROTOCOL_VIOLATION, 'connection closed during TLS handshake')));
      });
      sock = tlsSock;
      reader = new PacketReader(sock);
      reader.lastSeq = 1;
      secured = true;
      first = await reader.read(30_000, 2);
    }
    const resp = decode(() => decodeHandshakeResponse41(first.payload));
    const opening = deps.admissions.opening('mysql', secured);
    if (opening?.code === ErrorCode.TLS_REQUIRED) return refused(opening);
    // what both sides now assume (clients use the intersection); compression the broker did not offer would
    // hide packet boundaries, so a client that insists on it cannot be relayed
    caps = (resp.capabilities & advertised) | Capability.Protocol41;
    if ((resp.capabilities & (Capability.Compress | Capability.ZstdCompression) & ~advertised) !== 0) {
      throw new BrokerError(ErrorCode.FEATURE_NOT_SUPPORTED, 'dbwarden: the client asked for protocol capabilities the broker did not offer (compression?)');
    }
    const login = resp.user;
    if (opening) return refused(opening);

    // --- authentication against the grant's verifiers ---
    const grant = await deps.admissions.grantFor(login);
    const outcome = await authenticateClient(
      { reader, send, secure: secured, scramble, rsa: state.rsa },
      resp,
      grant?.verifiers,
      state.auth,
    );
    const admission = await deps.admissions.admit({
      protocol: 'mysql', login, address, client, database: resp.database, grant, proof: { ok: outcome.ok, passwordGiven: outcome.passwordGiven },
    });
    if (!admission.ok) return refused(admission);
    await begin(admission, login, resp, null);
  } catch (e) {
    const err = isBrokerError(e) ? e : new BrokerError(ErrorCode.PROTOCOL_VIOLATION, (e as Error).message);
    if (err.code === ErrorCode.PROTOCOL_VIOLATION || err.code === ErrorCode.MESSAGE_TOO_LARGE) count('', 'protocol_error');
    log.info({ err: err.message }, 'connection refused during handshake');
    if (sock.writable) refuse(err.code, err.message.startsWith('dbwarden:') ? err.message : `dbwarden: ${err.message}`);
    setTimeout(() => raw.destroy(), 1000).unref();
  }
}

function decodeChangeUserPacket(p: Buffer, caps: number): HandshakeResponse {
  try {
    return decodeChangeUser(p, caps);
  } catch (e) {
    if (e instanceof DecodeError) throw new BrokerError(ErrorCode.PROTOCOL_VIOLATION, `malformed COM_CHANGE_USER: ${e.message}`);
    throw e;
  }
}

function decode<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof DecodeError) throw new BrokerError(ErrorCode.PROTOCOL_VIOLATION, `malformed handshake response: ${e.message}`);
    throw e;
  }
}
