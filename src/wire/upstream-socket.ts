// Upstream sockets shared by both protocols: a TCP connect with a deadline, and the TLS upgrade with the
// target's mode. Errors are plain Errors with a readable message; each protocol wraps them in its own type.
import { readFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

export function connectTcp(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = netConnect({ host, port });
    s.setNoDelay(true);
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error(`connect to ${host}:${port} timed out`));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(t);
      s.removeAllListeners('error');
      s.on('error', () => undefined);
      resolve(s);
    });
    s.once('error', (e) => {
      clearTimeout(t);
      reject(new Error(`connect to ${host}:${port}: ${e.message}`));
    });
  });
}

export interface UpstreamTls {
  mode: 'require' | 'verify-full' | 'prefer';
  host: string;
  serverName?: string;
  caFile?: string;
}

/**
 * TLS over an established socket. `require`/`prefer` encrypt without authenticating the server (libpq's
 * sslmode=require); `verify-full` checks the chain against caFile (or the system CAs) and the host name,
 * which is what stops a man in the middle from posing as the database.
 */
export function upgradeTls(sock: Socket, o: UpstreamTls): Promise<TLSSocket> {
  const verify = o.mode === 'verify-full';
  return new Promise((resolve, reject) => {
    const t = tlsConnect({
      socket: sock,
      // the name (or IP) the certificate must carry; an explicit undefined checkServerIdentity would disable it
      host: o.serverName ?? o.host,
      servername: o.serverName ?? (/^[\d.:]+$/.test(o.host) ? undefined : o.host),
      rejectUnauthorized: verify,
      ca: o.caFile ? readFileSync(o.caFile) : undefined,
      ...(verify ? {} : { checkServerIdentity: () => undefined }),
    });
    t.once('secureConnect', () => {
      t.removeAllListeners('error');
      t.on('error', () => undefined);
      resolve(t);
    });
    t.once('error', (e) => reject(new Error(`TLS to upstream: ${e.message}`)));
  });
}
