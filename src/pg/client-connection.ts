// One client connection, from the first byte to close: SSL/GSS negotiation, startup, SCRAM authentication
// against the grant, the upstream connection, then the relay that decides every Query/Parse/FunctionCall.
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import { createScramVerifier, scramServerFinish, scramServerStart, scramServerStartUnknown, scramVerifyPassword } from '../auth/scram-sha-256.js';
import type { Config } from '../config/schema.js';
import { BrokerError, ErrorCode, isBrokerError } from '../errors.js';
import { lazyChild, type Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import type { AuditSink } from '../audit/events.js';
import type { Admissions, Refusal } from '../session/admission.js';
import { upstreamUnavailable } from '../session/admission.js';
import type { SessionRegistry } from '../session/registry.js';
import type { Session } from '../session/session.js';
import type { TlsMaterial } from '../wire/tls.js';
import { AuthCode, FrontendCode, StartupCode, brokerFields } from './codes.js';
import { MessageReader } from './message-reader.js';
import {
  encodeAuthentication,
  encodeAuthenticationSASL,
  encodeBackendKeyData,
  encodeErrorResponse,
  encodeNegotiateProtocolVersion,
  readCString,
  decodeStartupParams,
} from './messages.js';
import { ColumnCatalog } from './catalog.js';
import { SessionLineage } from './lineage-catalog.js';
import { functionCatalogOf } from './function-catalog.js';
import { PgRelay } from './relay.js';
import { PgReadingState } from './reading-state.js';
import { sanitizeStartupParams } from './startup-params.js';
import { BAD_STARTUP_LAYOUT, SilentClose, encodeOldStyleFatal, unsupportedProtocol } from './startup-phase.js';
import { cancelUpstream, connectUpstream, type UpstreamConnection, type UpstreamOptions } from './upstream-connection.js';
import type { SpareConnections } from '../wire/spares.js';

export interface PgDeps {
  registry: SessionRegistry;
  /** login admission, shared with the MySQL listener */
  admissions: Admissions;
  tls: TlsMaterial | null;
  tlsClients: 'prefer' | 'require' | 'disable';
  /** ask TLS clients for a cleartext password instead of SCRAM (never offered without TLS) */
  passwordOverTls?: boolean;
  limits: Config['limits'];
  metrics: Metrics;
  logger: Logger;
  audit: AuditSink;
  /** key for the decoy SCRAM exchange of unknown logins; per process */
  authSecret: Buffer;
  /** key of the `hash` mask (stable across restarts so hashed values still join) */
  maskHashKey: Buffer;
  /** column-origin catalogs, one per target database, shared by its sessions */
  catalogs: Map<string, ColumnCatalog>;
  /** spare upstream connections per target name (targets with `upstreamSpares` > 0) */
  spares?: Map<string, SpareConnections<UpstreamConnection>>;
}

const PROTOCOL_MAJOR = 3;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function handlePgClient(raw: Socket, deps: PgDeps): Promise<void> {
  raw.setNoDelay(true);
  const address = raw.remoteAddress ?? 'unknown';
  const client = `${address}:${raw.remotePort ?? 0}`;
  let sock: Duplex = raw;
  let reader = new MessageReader(sock);
  let secured = false;
  const log = lazyChild(deps.logger, () => ({ client }));
  /** A refusal as the FATAL ErrorResponse its BRK_* code maps to (pg/codes.ts). */
  const fatal = (code: ErrorCode, message: string, hint?: string) => {
    sock.end(encodeErrorResponse(brokerFields('FATAL', code, message, hint === undefined ? {} : { hint })));
  };
  /** The core's refusal. */
  const refuse = (r: Refusal) => fatal(r.code, r.message, r.hint);
  raw.on('error', () => undefined);

  try {
    // --- negotiation: SSLRequest / GSSENCRequest / CancelRequest / StartupMessage ---
    let params: Map<string, string> | undefined;
    while (!params) {
      const pkt = await reader.readStartup();
      const code = pkt.readInt32BE(0);
      if (code === StartupCode.SSLRequest) {
        if (secured) throw new BrokerError(ErrorCode.PROTOCOL_VIOLATION, 'SSLRequest after TLS was established');
        // Bytes that arrive before the TLS handshake could be injected by a man in the middle and then be read
        // as if they came over TLS (CVE-2021-23222 class): refuse the connection.
        if (reader.buffered > 0) throw new BrokerError(ErrorCode.PROTOCOL_VIOLATION, 'received unencrypted data after SSL request');
        if (!deps.tls || deps.tlsClients === 'disable') {
          sock.write('N');
          continue;
        }
        reader.detach();
        raw.pause();
        sock.write('S');
        const tlsSock = new TLSSocket(raw, { isServer: true, secureContext: deps.tls.context });
        tlsSock.on('error', () => undefined);
        await new Promise<void>((resolve, reject) => {
          tlsSock.once('secure', resolve);
          tlsSock.once('error', reject);
          tlsSock.once('close', () => reject(new BrokerError(ErrorCode.PROTOCOL_VIOLATION, 'connection closed during TLS handshake')));
        });
        sock = tlsSock;
        reader = new MessageReader(sock);
        secured = true;
        continue;
      }
      if (code === StartupCode.GSSENCRequest) {
        if (reader.buffered > 0) throw new BrokerError(ErrorCode.PROTOCOL_VIOLATION, 'received unencrypted data after GSSENC request');
        sock.write('N');
        continue;
      }
      if (code === StartupCode.CancelRequest) {
        if (pkt.length < 12) throw new BrokerError(ErrorCode.PROTOCOL_VIOLATION, 'short CancelRequest');
        const target = deps.registry.findByCancelKey(pkt.readInt32BE(4), pkt.readInt32BE(8));
        target?.control?.cancel?.();
        sock.end();
        return;
      }
      const major = code >>> 16;
      const minor = code & 0xffff;
      if (major !== PROTOCOL_MAJOR) {
        if (major < PROTOCOL_MAJOR) {
          sock.end(encodeOldStyleFatal(unsupportedProtocol(major, minor)));
          return;
        }
        throw new BrokerError(ErrorCode.FEATURE_NOT_SUPPORTED, unsupportedProtocol(major, minor));
      }
      const body = pkt.subarray(4);
      if (body.length === 0 || body[body.length - 1] !== 0) throw new BrokerError(ErrorCode.PROTOCOL_VIOLATION, BAD_STARTUP_LAYOUT);
      params = decodeStartupParams(body);
      const unknownOptions = [...params.keys()].filter((k) => k.startsWith('_pq_.'));
      // We speak 3.0 (the BackendKeyData we hand out is 3.0-sized); tell a newer client so it can adapt.
      if (minor > 0 || unknownOptions.length > 0) sock.write(encodeNegotiateProtocolVersion(0, unknownOptions));
      for (const k of unknownOptions) params.delete(k);
    }

    const opening = deps.admissions.opening('postgres', secured);
    if (opening) return refuse(opening);
    const login = params.get('user');
    if (!login) return fatal(ErrorCode.LOGIN_INCOMPLETE, 'no PostgreSQL user name specified in startup packet');
    const replication = params.get('replication');
    if (replication && !/^(false|off|no|0)$/i.test(replication)) {
      return fatal(ErrorCode.FEATURE_NOT_SUPPORTED, 'dbwarden: replication connections are not supported');
    }

    // --- authentication: SCRAM-SHA-256 against the grant's stored verifier ---
    const found = await deps.admissions.grantFor(login);
    const verifier = found?.verifiers?.scramSha256;
    const authOk = secured && deps.passwordOverTls
      ? await passwordExchange(sock, reader, verifier)
      : await scramExchange(sock, reader, login, verifier, deps.authSecret);
    // From here to the startup answer the client's bytes are held and go out in one write (SASLFinal, AuthenticationOk,
    // ParameterStatus…, BackendKeyData, ReadyForQuery), as PostgreSQL sends them; a refusal's end() sends what is held
    // first, so the client reads the same messages in the same order as before, in fewer packets and wake-ups.
    sock.cork();
    if (authOk instanceof Buffer) sock.write(authOk);
    const admission = await deps.admissions.admit({
      protocol: 'postgres', login, address, client, database: params.get('database') || login, grant: found, proof: { ok: authOk !== false && !!verifier },
    });
    if (!admission.ok) return refuse(admission);
    const { grant, target, role, database } = admission;
    const clean = sanitizeStartupParams(params);
    if (!clean.ok) {
      deps.admissions.count('postgres', grant.target, 'rejected');
      return fatal(ErrorCode.PARAMETER_REFUSED, `dbwarden: ${clean.error}`);
    }
    // a client encoding whose characters can hide ASCII bytes (SJIS, BIG5, GBK, …): statements could not be read
    // the way the server reads them (charset smuggling), so the session is refused before it starts
    const unsafeEncoding = PgReadingState.refusal(clean.params.get('client_encoding') ?? '');
    if (unsafeEncoding) {
      deps.admissions.count('postgres', grant.target, 'rejected');
      return fatal(ErrorCode.ENCODING_UNSAFE, unsafeEncoding);
    }
    sock.write(encodeAuthentication(AuthCode.Ok));

    // --- upstream ---
    const upstreamOptions: UpstreamOptions = {
      host: target.host, port: target.port, user: role.user, password: role.password, database, tls: target.tls,
      caFile: target.caFile, serverName: target.serverName, params: new Map<string, string>(), timeoutMs: target.connectTimeoutMs,
    };
    const spares = deps.spares?.get(grant.target);
    // the spare key: everything the upstream start-up depends on (role, database, every parameter the client sent)
    const spareKey = spares && JSON.stringify([role.user, database, [...clean.params].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))]);
    const open = async () => {
      const t0 = process.hrtime.bigint();
      const c = await connectUpstream({ ...upstreamOptions, params: clean.params });
      deps.metrics.upstreamConnectSeconds.observe({ target: grant.target }, Number(process.hrtime.bigint() - t0) / 1e9);
      return c;
    };
    let upstream = spares && spareKey ? spares.take(spareKey) : undefined;
    if (spares) deps.metrics.upstreamSpareLogins.inc({ target: grant.target, upstream: upstream ? 'spare' : 'fresh' });
    try {
      upstream ??= await open();
    } catch (e) {
      deps.admissions.count('postgres', grant.target, 'upstream_error');
      log.warn({ target: grant.target, err: (e as Error).message }, 'upstream connection failed');
      return refuse(upstreamUnavailable(grant.target));
    }
    // the same for an encoding the upstream chose itself (ALTER ROLE/DATABASE … SET client_encoding)
    const upstreamEncoding = PgReadingState.refusal(upstream.parameters.get('client_encoding') ?? '');
    if (upstreamEncoding) {
      upstream.socket.destroy();
      deps.admissions.count('postgres', grant.target, 'rejected');
      return fatal(ErrorCode.ENCODING_UNSAFE, upstreamEncoding);
    }
    deps.admissions.count('postgres', grant.target, 'ok');

    let session: Session;
    try {
      session = deps.registry.open({ grant, protocol: 'postgres', database, client, dialect: 'postgres' });
    } catch (e) {
      // the upstream connection must not outlive a refused session (a leaked socket also kept `serve` from exiting)
      upstream.socket.destroy();
      throw e;
    }
    const key = deps.registry.issueCancelKey(session);
    const rest = reader.detach();
    sock.pause();
    // The client sees the broker's key, never the upstream's: a CancelRequest must come through us.
    sock.write(Buffer.concat([...upstream.parameterStatus, encodeBackendKeyData(key.pid, key.secret), upstream.readyForQuery]));
    sock.uncork();
    const catalogKey = `${grant.target}/${database}`;
    let catalog = deps.catalogs.get(catalogKey);
    const readGrant = session.guard.ctx.access === 'read';
    if (!catalog) deps.catalogs.set(catalogKey, (catalog = new ColumnCatalog(() => upstreamOptions)));
    // the catalog snapshot: a read grant decides calls to user functions by their entries (volatile / SECURITY
    // DEFINER = write); every grant decides whether `col IS NOT NULL` narrows a write by the column's nullability
    const functions = functionCatalogOf(catalog);
    if (!functions.ready()) await untilEnding(session, functions.loaded());
    if (readGrant) session.functionCatalog = functions;
    else session.writeCallCatalog = functions;
    session.columnNullable = (table, column) => functions.nullable(table, column);
    // lineage needs the catalog before the first statement is decided (else everything is masked or refused)
    if (catalog && session.guard.masks.length) await untilEnding(session, new SessionLineage(catalog, session.guard.masks).loaded());
    const relay = new PgRelay(sock, upstream.socket, session, {
      masking: catalog && session.guard.masks.length ? { masks: session.guard.masks, catalog, hashKey: deps.maskHashKey } : undefined,
      metrics: deps.metrics,
      maxQueryBytes: deps.limits.maxQueryBytes,
      standardConformingStrings: upstream.parameters.get('standard_conforming_strings') !== 'off',
      clientEncoding: upstream.parameters.get('client_encoding') ?? 'UTF8',
      cancel: () => cancelUpstream(target.host, target.port, upstream.pid, upstream.secret),
    });
    relay.start(rest, upstream.rest);
    // after the session is running, so the spare's start-up does not compete with this login's
    if (spares && spareKey) spares.replenish(spareKey, open);
  } catch (e) {
    const err = isBrokerError(e) ? e : new BrokerError(ErrorCode.PROTOCOL_VIOLATION, (e as Error).message);
    if (err.code === ErrorCode.PROTOCOL_VIOLATION || err.code === ErrorCode.MESSAGE_TOO_LARGE) {
      deps.admissions.count('postgres', '', 'protocol_error');
    }
    log.info({ err: err.message }, 'connection refused during handshake');
    if (e instanceof SilentClose) return void sock.destroy();
    if (sock.writable) fatal(err.code, err.message);
    setTimeout(() => raw.destroy(), 1000).unref();
  }
}

/**
 * Waits for a catalog read before the session's first statement, but not past the session being told to end (a
 * revoke or kill during the login): the relay then starts at once and ends the session, instead of the session
 * staying listed while a slow catalog read runs out its timeout. No statement is decided in between.
 */
function untilEnding(session: Session, work: Promise<unknown>): Promise<void> {
  if (session.terminatingReason) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (session.terminatingReason) done();
    }, 25);
    const done = () => {
      clearInterval(poll);
      resolve();
    };
    work.then(done, done);
  });
}

/** Reads one 'p' message during authentication. */
async function readPasswordMessage(reader: MessageReader): Promise<Buffer> {
  const { code, body } = await reader.readTyped();
  if (code !== FrontendCode.Password) throw new BrokerError(ErrorCode.PROTOCOL_VIOLATION, `expected SASL response, got message type 0x${code.toString(16)}`);
  return body;
}

/**
 * Cleartext password, only ever reached over TLS (the caller checks): for drivers without SCRAM. The password is
 * checked against the SCRAM verifier even for an unknown login (against a decoy), so timing does not tell them apart.
 */
async function passwordExchange(sock: Duplex, reader: MessageReader, verifier: string | undefined): Promise<boolean> {
  sock.write(encodeAuthentication(AuthCode.CleartextPassword));
  const body = await readPasswordMessage(reader);
  const password = readCString(body, 0)[0];
  const ok = scramVerifyPassword(verifier ?? DECOY_VERIFIER, password);
  return ok && verifier !== undefined;
}

const DECOY_VERIFIER = createScramVerifier(randomBytes(24).toString('hex'));

/**
 * Runs SCRAM-SHA-256 (no channel binding). For an unknown login a decoy exchange with a stable fake salt runs
 * to the end, so the answer does not tell whether the login exists. A proven login gets its SASLFinal message back
 * for the caller to send (with what follows it); false otherwise.
 */
async function scramExchange(sock: Duplex, reader: MessageReader, login: string, verifier: string | undefined, secret: Buffer): Promise<Buffer | false> {
  sock.write(encodeAuthenticationSASL(['SCRAM-SHA-256']));
  const first = await readPasswordMessage(reader);
  const [mechanism, off] = readCString(first, 0);
  if (mechanism !== 'SCRAM-SHA-256') throw new BrokerError(ErrorCode.PROTOCOL_VIOLATION, `unsupported SASL mechanism ${mechanism}`);
  const len = first.readInt32BE(off);
  const clientFirst = first.toString('utf8', off + 4, len < 0 ? off + 4 : off + 4 + len);
  const start = verifier ? scramServerStart(verifier, clientFirst) : scramServerStartUnknown(login, secret, clientFirst);
  if (!start.ok) throw new BrokerError(ErrorCode.PROTOCOL_VIOLATION, `malformed SCRAM message: ${start.reason}`);
  sock.write(encodeAuthentication(AuthCode.SASLContinue, Buffer.from(start.serverFirst)));
  const final = await readPasswordMessage(reader);
  const done = scramServerFinish(start.state, final.toString('utf8'));
  if (!done.ok || !verifier) return false;
  return encodeAuthentication(AuthCode.SASLFinal, Buffer.from(done.serverFinal));
}

export function newAuthSecret(): Buffer {
  return randomBytes(32);
}
