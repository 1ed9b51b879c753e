// One client connection, from the first byte to close: SSL/GSS negotiation, startup, SCRAM authentication
// against the grant, the upstream connection, then the relay that decides every Query/Parse/FunctionCall.
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import { createScramVerifier, scramServerFinish, scramServerStart, scramServerStartUnknown, scramVerifyPassword } from '../auth/scram-sha-256.js';
import type { Config, TargetConfig } from '../config/schema.js';
import { BrokerError, ErrorCode, isBrokerError } from '../errors.js';
import type { Grant } from '../grants/model.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import type { AuditSink } from '../audit/events.js';
import type { SessionRegistry } from '../session/registry.js';
import type { Session } from '../session/session.js';
import type { TlsMaterial } from '../wire/tls.js';
import { AuthCode, FrontendCode, Routine, SQLSTATE_OF, SqlState, StartupCode } from './codes.js';
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
import { cancelUpstream, connectUpstream, type UpstreamOptions } from './upstream-connection.js';

export interface PgDeps {
  registry: SessionRegistry;
  findGrant(login: string): Promise<Grant | undefined>;
  targets: Config['targets'];
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
  authFailures: AuthFailureTracker;
  /** false when new logins must be refused (store unreachable) */
  acceptingLogins(): boolean;
  /** key of the `hash` mask (stable across restarts so hashed values still join) */
  maskHashKey: Buffer;
  /** column-origin catalogs, one per target database, shared by its sessions */
  catalogs: Map<string, ColumnCatalog>;
}

/**
 * Slows down repeated failed logins from one address: each failure doubles the delay before the error is
 * sent, up to a cap. Defends against online password guessing (passwords are random, but this also keeps
 * a guesser from loading the broker).
 */
export class AuthFailureTracker {
  private readonly failures = new Map<string, { count: number; last: number }>();
  constructor(private readonly baseDelayMs: number, private readonly maxDelayMs = 5000) {}

  delayFor(address: string): number {
    const f = this.failures.get(address);
    if (!f || Date.now() - f.last > 15 * 60_000) return 0;
    return Math.min(this.baseDelayMs * 2 ** (f.count - 1), this.maxDelayMs);
  }

  fail(address: string): number {
    const f = this.failures.get(address);
    const count = f && Date.now() - f.last < 15 * 60_000 ? f.count + 1 : 1;
    this.failures.set(address, { count, last: Date.now() });
    if (this.failures.size > 10_000) this.failures.delete(this.failures.keys().next().value!);
    return Math.min(this.baseDelayMs * 2 ** (count - 1), this.maxDelayMs);
  }

  succeed(address: string): void {
    this.failures.delete(address);
  }
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
  const log = deps.logger.child({ client });
  const fatal = (code: string, message: string, hint?: string, routine?: string) => {
    sock.end(encodeErrorResponse({ severity: 'FATAL', code, message, hint, routine }));
  };
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

    if (deps.tlsClients === 'require' && !secured) {
      deps.metrics.sessionsTotal.inc({ protocol: 'postgres', target: '', outcome: 'rejected' });
      return fatal(SqlState.InvalidAuthorization, 'dbwarden: TLS is required: connect with sslmode=require');
    }
    const login = params.get('user');
    if (!login) return fatal(SqlState.InvalidAuthorization, 'no PostgreSQL user name specified in startup packet');
    const replication = params.get('replication');
    if (replication && !/^(false|off|no|0)$/i.test(replication)) {
      return fatal(SqlState.FeatureNotSupported, 'dbwarden: replication connections are not supported');
    }
    const database = params.get('database') || login;
    if (!deps.acceptingLogins()) {
      return fatal(SqlState.ConnectionFailure, 'dbwarden: the grant store is unavailable; new logins are refused for now');
    }

    // --- authentication: SCRAM-SHA-256 against the grant's stored verifier ---
    const grant = await deps.findGrant(login);
    const verifier = grant?.verifiers?.scramSha256;
    const authOk = secured && deps.passwordOverTls
      ? await passwordExchange(sock, reader, verifier)
      : await scramExchange(sock, reader, login, verifier, deps.authSecret);
    if (!authOk || !grant || !verifier || Date.parse(grant.expiresAt) <= Date.now()) {
      const delay = deps.authFailures.fail(address);
      deps.audit.record({ type: 'auth.failed', protocol: 'postgres', login, client, reason: !grant ? 'unknown or inactive login' : 'bad password' });
      deps.metrics.sessionsTotal.inc({ protocol: 'postgres', target: grant?.target ?? '', outcome: 'auth_failed' });
      log.info({ login }, 'authentication failed');
      await sleep(delay);
      // the same message whether the login exists or not
      return fatal(SqlState.InvalidPassword, `password authentication failed for user "${login}"`);
    }
    deps.authFailures.succeed(address);

    if (!grant.databases.includes(database)) {
      deps.metrics.sessionsTotal.inc({ protocol: 'postgres', target: grant.target, outcome: 'rejected' });
      return fatal(SqlState.InsufficientPrivilege, `dbwarden: grant ${grant.id} does not cover database "${database}"`, `this grant covers: ${grant.databases.join(', ')}`, Routine.grantScope);
    }
    const target: TargetConfig | undefined = deps.targets[grant.target];
    const role = target?.roles[grant.access];
    if (!target || !role || target.protocol !== 'postgres') {
      deps.metrics.sessionsTotal.inc({ protocol: 'postgres', target: grant.target, outcome: 'upstream_error' });
      log.error({ target: grant.target, access: grant.access }, 'no upstream role configured for this grant');
      return fatal(SqlState.ConnectionFailure, `dbwarden: upstream ${grant.target} unavailable`);
    }
    try {
      deps.registry.checkSessionLimit(grant);
    } catch (e) {
      deps.metrics.sessionsTotal.inc({ protocol: 'postgres', target: grant.target, outcome: 'rejected' });
      return fatal(SqlState.TooManyConnections, (e as Error).message);
    }
    const clean = sanitizeStartupParams(params);
    if (!clean.ok) {
      deps.metrics.sessionsTotal.inc({ protocol: 'postgres', target: grant.target, outcome: 'rejected' });
      return fatal(SqlState.InsufficientPrivilege, `dbwarden: ${clean.error}`);
    }
    // a client encoding whose characters can hide ASCII bytes (SJIS, BIG5, GBK, …): statements could not be read
    // the way the server reads them (charset smuggling), so the session is refused before it starts
    const unsafeEncoding = PgReadingState.refusal(clean.params.get('client_encoding') ?? '');
    if (unsafeEncoding) {
      deps.metrics.sessionsTotal.inc({ protocol: 'postgres', target: grant.target, outcome: 'rejected' });
      return fatal(SqlState.FeatureNotSupported, unsafeEncoding);
    }
    sock.write(encodeAuthentication(AuthCode.Ok));

    // --- upstream ---
    const upstreamOptions: UpstreamOptions = {
      host: target.host, port: target.port, user: role.user, password: role.password, database, tls: target.tls,
      caFile: target.caFile, serverName: target.serverName, params: new Map<string, string>(), timeoutMs: target.connectTimeoutMs,
    };
    const t0 = process.hrtime.bigint();
    let upstream;
    try {
      upstream = await connectUpstream({ ...upstreamOptions, params: clean.params });
    } catch (e) {
      deps.metrics.sessionsTotal.inc({ protocol: 'postgres', target: grant.target, outcome: 'upstream_error' });
      log.warn({ target: grant.target, err: (e as Error).message }, 'upstream connection failed');
      return fatal(SqlState.ConnectionFailure, `dbwarden: upstream ${grant.target} unavailable`);
    }
    // the same for an encoding the upstream chose itself (ALTER ROLE/DATABASE … SET client_encoding)
    const upstreamEncoding = PgReadingState.refusal(upstream.parameters.get('client_encoding') ?? '');
    if (upstreamEncoding) {
      upstream.socket.destroy();
      deps.metrics.sessionsTotal.inc({ protocol: 'postgres', target: grant.target, outcome: 'rejected' });
      return fatal(SqlState.FeatureNotSupported, upstreamEncoding);
    }
    deps.metrics.upstreamConnectSeconds.observe({ target: grant.target }, Number(process.hrtime.bigint() - t0) / 1e9);
    deps.metrics.sessionsTotal.inc({ protocol: 'postgres', target: grant.target, outcome: 'ok' });

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
    const catalogKey = `${grant.target}/${database}`;
    let catalog = deps.catalogs.get(catalogKey);
    const readGrant = session.guard.ctx.access === 'read';
    if (!catalog && (session.guard.masks.length || readGrant)) deps.catalogs.set(catalogKey, (catalog = new ColumnCatalog(() => upstreamOptions)));
    // a read grant decides calls to user functions by their catalog entries (volatile / SECURITY DEFINER = write)
    if (catalog && readGrant) {
      const functions = functionCatalogOf(catalog);
      await functions.loaded();
      session.functionCatalog = functions;
    }
    // lineage needs the catalog before the first statement is decided (else everything is masked or refused)
    if (catalog && session.guard.masks.length) await new SessionLineage(catalog, session.guard.masks).loaded();
    const relay = new PgRelay(sock, upstream.socket, session, {
      masking: catalog && session.guard.masks.length ? { masks: session.guard.masks, catalog, hashKey: deps.maskHashKey } : undefined,
      metrics: deps.metrics,
      maxQueryBytes: deps.limits.maxQueryBytes,
      standardConformingStrings: upstream.parameters.get('standard_conforming_strings') !== 'off',
      clientEncoding: upstream.parameters.get('client_encoding') ?? 'UTF8',
      cancel: () => cancelUpstream(target.host, target.port, upstream.pid, upstream.secret),
    });
    relay.start(rest, upstream.rest);
  } catch (e) {
    const err = isBrokerError(e) ? e : new BrokerError(ErrorCode.PROTOCOL_VIOLATION, (e as Error).message);
    if (err.code === ErrorCode.PROTOCOL_VIOLATION || err.code === ErrorCode.MESSAGE_TOO_LARGE) {
      deps.metrics.sessionsTotal.inc({ protocol: 'postgres', target: '', outcome: 'protocol_error' });
    }
    log.info({ err: err.message }, 'connection refused during handshake');
    if (e instanceof SilentClose) return void sock.destroy();
    if (sock.writable) fatal(SQLSTATE_OF[err.code] ?? SqlState.ProtocolViolation, err.message);
    setTimeout(() => raw.destroy(), 1000).unref();
  }
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
 * to the end, so the answer does not tell whether the login exists.
 */
async function scramExchange(sock: Duplex, reader: MessageReader, login: string, verifier: string | undefined, secret: Buffer): Promise<boolean> {
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
  sock.write(encodeAuthentication(AuthCode.SASLFinal, Buffer.from(done.serverFinal)));
  return true;
}

export function newAuthSecret(): Buffer {
  return randomBytes(32);
}
