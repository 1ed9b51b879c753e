// Connects to the real PostgreSQL server as the role mapped to the grant: TCP, optional TLS, startup,
// authentication (trust, cleartext, md5, SCRAM-SHA-256), then collects ParameterStatus and BackendKeyData.
import { connect as netConnect, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { connectTcp, upgradeTls } from '../wire/upstream-socket.js';
import { serialize } from 'pg-protocol';
import { md5Password } from '../auth/md5-password.js';
import { scramClientContinue, scramClientStart, scramClientVerifyFinal, type ScramClientState } from '../auth/scram-sha-256.js';
import { BrokerError, ErrorCode } from '../errors.js';
import { AuthCode, BackendCode } from './codes.js';
import { decodeFields, readCString } from './messages.js';
import { MessageReader } from './message-reader.js';

export type UpstreamTlsMode = 'disable' | 'prefer' | 'require' | 'verify-full';

export interface UpstreamOptions {
  host: string;
  port: number;
  user: string;
  password?: string;
  database: string;
  tls: UpstreamTlsMode;
  caFile?: string;
  serverName?: string;
  /** startup parameters passed through from the client (application_name, client_encoding, DateStyle, options, …) */
  params: Map<string, string>;
  timeoutMs?: number;
}

export interface UpstreamConnection {
  socket: Socket | TLSSocket;
  pid: number;
  secret: number;
  /** the raw ParameterStatus messages, in order, to replay to the client */
  parameterStatus: Buffer[];
  parameters: Map<string, string>;
  /** the raw ReadyForQuery that ended the startup */
  readyForQuery: Buffer;
  /** bytes received after ReadyForQuery (normally none) */
  rest: Buffer;
  tls: boolean;
}

/** An upstream refusal the broker keeps to itself (the client only learns the target is unavailable). */
export class UpstreamError extends BrokerError {}

function frame(code: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = code;
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

function readOne(s: Socket, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => done(new UpstreamError(ErrorCode.UPSTREAM_UNAVAILABLE, 'no answer to SSLRequest')), timeoutMs);
    const onData = (b: Buffer) => {
      // a server answering more than one byte here is trying to inject plaintext before the handshake
      if (b.length !== 1) return done(new UpstreamError(ErrorCode.UPSTREAM_UNAVAILABLE, 'unexpected bytes in answer to SSLRequest'));
      done(null, b[0]);
    };
    const onErr = (e: Error) => done(new UpstreamError(ErrorCode.UPSTREAM_UNAVAILABLE, e.message));
    const done = (e: Error | null, v?: number) => {
      clearTimeout(t);
      s.off('data', onData);
      s.off('error', onErr);
      s.pause();
      if (e) reject(e);
      else resolve(v!);
    };
    s.on('data', onData);
    s.on('error', onErr);
  });
}

async function negotiateTls(sock: Socket, o: UpstreamOptions, timeoutMs: number): Promise<Socket | TLSSocket> {
  if (o.tls === 'disable') return sock;
  sock.write(serialize.requestSsl());
  const answer = await readOne(sock, timeoutMs);
  if (answer !== 0x53 /* S */) {
    if (o.tls === 'prefer') return sock;
    sock.destroy();
    throw new UpstreamError(ErrorCode.UPSTREAM_UNAVAILABLE, `upstream ${o.host}:${o.port} does not offer TLS (tls: ${o.tls})`);
  }
  return upgradeTls(sock, { mode: o.tls, host: o.host, serverName: o.serverName, caFile: o.caFile }).catch((e: Error) => {
    throw new UpstreamError(ErrorCode.UPSTREAM_UNAVAILABLE, e.message);
  });
}

export async function connectUpstream(o: UpstreamOptions): Promise<UpstreamConnection> {
  const timeoutMs = o.timeoutMs ?? 10_000;
  const raw = await connectTcp(o.host, o.port, timeoutMs).catch((e: Error) => {
    throw new UpstreamError(ErrorCode.UPSTREAM_UNAVAILABLE, e.message);
  });
  let sock: Socket | TLSSocket = raw;
  try {
    sock = await negotiateTls(raw, o, timeoutMs);
    const reader = new MessageReader(sock, 1 << 24);
    const startup: Record<string, string> = { user: o.user, database: o.database };
    for (const [k, v] of o.params) if (k !== 'user' && k !== 'database') startup[k] = v;
    // not pg-protocol's serialize.startup: it appends client_encoding=UTF8, which overrides the client's own
    // encoding upstream (a LATIN1 client's bytes would then be read as UTF-8)
    sock.write(startupMessage(startup));
    sock.resume();
    let scram: ScramClientState | null = null;
    let scramFinal: ScramClientState | null = null;
    const parameterStatus: Buffer[] = [];
    const parameters = new Map<string, string>();
    let pid = 0;
    let secret = 0;
    const password = () => {
      if (o.password === undefined) throw new UpstreamError(ErrorCode.UPSTREAM_AUTH_FAILED, `upstream asks for a password but none is configured for role ${o.user}`);
      return o.password;
    };
    for (;;) {
      const { code, body } = await reader.readTyped(timeoutMs);
      switch (code) {
        case BackendCode.Authentication: {
          const kind = body.readInt32BE(0);
          if (kind === AuthCode.Ok) break;
          if (kind === AuthCode.CleartextPassword) {
            sock.write(serialize.password(password()));
          } else if (kind === AuthCode.MD5Password) {
            sock.write(serialize.password(md5Password(password(), o.user, body.subarray(4, 8))));
          } else if (kind === AuthCode.SASL) {
            const mechs: string[] = [];
            let off = 4;
            while (off < body.length && body[off] !== 0) {
              const [m, next] = readCString(body, off);
              mechs.push(m);
              off = next;
            }
            if (!mechs.includes('SCRAM-SHA-256')) throw new UpstreamError(ErrorCode.UPSTREAM_AUTH_FAILED, `upstream offers no supported SASL mechanism (${mechs.join(', ')})`);
            const start = scramClientStart();
            scram = start.state;
            sock.write(serialize.sendSASLInitialResponseMessage('SCRAM-SHA-256', start.clientFirst));
          } else if (kind === AuthCode.SASLContinue) {
            if (!scram) throw new UpstreamError(ErrorCode.UPSTREAM_AUTH_FAILED, 'unexpected SASLContinue');
            const next = scramClientContinue(scram, password(), body.subarray(4).toString('utf8'));
            if (!next.ok) throw new UpstreamError(ErrorCode.UPSTREAM_AUTH_FAILED, `upstream SCRAM: ${next.reason}`);
            scramFinal = next.state;
            sock.write(serialize.sendSCRAMClientFinalMessage(next.clientFinal));
          } else if (kind === AuthCode.SASLFinal) {
            // a server that cannot prove it knows the verifier is not the server we meant to reach
            if (!scramFinal || !scramClientVerifyFinal(scramFinal, body.subarray(4).toString('utf8'))) {
              throw new UpstreamError(ErrorCode.UPSTREAM_AUTH_FAILED, 'upstream SCRAM server signature is invalid');
            }
          } else {
            throw new UpstreamError(ErrorCode.UPSTREAM_AUTH_FAILED, `unsupported upstream authentication method ${kind}`);
          }
          break;
        }
        case BackendCode.ParameterStatus: {
          const [k, o1] = readCString(body, 0);
          const [v] = readCString(body, o1);
          parameters.set(k, v);
          parameterStatus.push(frame(code, body));
          break;
        }
        case BackendCode.BackendKeyData:
          pid = body.readInt32BE(0);
          secret = body.readInt32BE(4);
          break;
        case BackendCode.NoticeResponse:
          break;
        case BackendCode.NegotiateProtocolVersion:
          break;
        case BackendCode.ErrorResponse: {
          const f = decodeFields(body);
          throw new UpstreamError(ErrorCode.UPSTREAM_AUTH_FAILED, `upstream refused the connection: ${f.get('C') ?? ''} ${f.get('M') ?? ''}`, { sqlstate: f.get('C'), upstreamMessage: f.get('M') });
        }
        case BackendCode.ReadyForQuery: {
          const rest = reader.detach();
          sock.pause();
          return { socket: sock, pid, secret, parameterStatus, parameters, readyForQuery: frame(code, body), rest, tls: sock !== raw };
        }
        default:
          throw new UpstreamError(ErrorCode.UPSTREAM_UNAVAILABLE, `unexpected message 0x${code.toString(16)} during upstream startup`);
      }
    }
  } catch (e) {
    sock.destroy();
    raw.destroy();
    throw e;
  }
}

/** Sends a CancelRequest for an upstream backend on a fresh connection (the protocol's only way to interrupt). */
export function cancelUpstream(host: string, port: number, pid: number, secret: number): Promise<void> {
  return new Promise((resolve) => {
    const s = netConnect({ host, port }, () => {
      s.end(serialize.cancel(pid, secret));
    });
    const done = () => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      s.destroy();
      resolve();
    }, 5000);
    s.on('close', done);
    s.on('error', () => undefined);
  });
}

/** A protocol 3.0 StartupMessage with exactly these parameters. */
function startupMessage(params: Record<string, string>): Buffer {
  const parts: Buffer[] = [Buffer.alloc(4), Buffer.from([0, 3, 0, 0])];
  for (const [k, v] of Object.entries(params)) parts.push(Buffer.from(`${k}\0${v}\0`));
  parts.push(Buffer.from([0]));
  const msg = Buffer.concat(parts);
  msg.writeInt32BE(msg.length, 0);
  return msg;
}
