// The MySQL listener: accepts client connections and hands each to handleMysqlClient. At start it reads each
// MySQL target's greeting (no login) so the broker greets clients with the upstream's version and capabilities.
import { createServer, type Socket } from 'node:net';
import type { ClientAuthOptions } from './client-auth.js';
import { handleMysqlClient, type MysqlDeps, type MysqlListenerState } from './client-connection.js';
import { AuthPlugin } from './codes.js';
import type { HandshakeV10 } from './packets.js';
import { rsaKeyPair } from './rsa-key.js';
import { ThreadIds } from './thread-ids.js';
import { probeUpstream } from './upstream-connection.js';

export interface MysqlListener {
  host: string;
  port: number;
  /** authentication settings, changeable at run time (tests exercise the switch and full-auth paths) */
  auth: ClientAuthOptions;
  /** stops accepting new connections; open sessions carry on (the drain ends them) */
  stopAccepting(): void;
  close(): Promise<void>;
}

export async function startMysqlListener(host: string, port: number, deps: MysqlDeps, auth?: Partial<ClientAuthOptions>): Promise<MysqlListener> {
  const greetings = new Map<string, HandshakeV10>();
  const mysqlTargets = Object.entries(deps.targets).filter(([, t]) => t.protocol === 'mysql');
  await Promise.all(
    mysqlTargets.map(async ([name, t]) => {
      try {
        greetings.set(name, await probeUpstream(t.host, t.port));
      } catch (e) {
        deps.logger.warn({ target: name, err: (e as Error).message }, 'mysql target did not answer; greeting clients with defaults');
      }
    }),
  );
  // the RSA pair takes a moment to generate: start now so the first full authentication does not wait
  void rsaKeyPair().catch(() => undefined);
  const state: MysqlListenerState = {
    threads: new ThreadIds(),
    rsa: rsaKeyPair,
    // one greeting serves every target: before the login the broker cannot know which target a client wants
    greeting: () => {
      for (const [name] of mysqlTargets) {
        const g = greetings.get(name);
        if (g) return g;
      }
      return undefined;
    },
    sawGreeting: (target, g) => greetings.set(target, g),
    auth: { plugins: auth?.plugins ?? [AuthPlugin.CachingSha2, AuthPlugin.Native], fullAuth: auth?.fullAuth ?? false },
  };
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    handleMysqlClient(socket, deps, state).catch((e) => {
      deps.logger.error({ err: (e as Error).message }, 'unexpected error in mysql client connection');
      socket.destroy();
    });
  });
  server.maxConnections = 10_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      const addr = server.address();
      const bound = typeof addr === 'object' && addr ? addr.port : port;
      resolve({
        host,
        port: bound,
        stopAccepting: () => {
          if (server.listening) server.close();
        },
        auth: state.auth,
        // resolves once every client socket has closed (and its session has ended and been audited)
        close: () =>
          new Promise<void>((done) => {
            if (server.listening) server.close();
            const check = () => {
              if (sockets.size === 0) setImmediate(done);
            };
            for (const s of sockets) s.once('close', () => setImmediate(check));
            // sessions were already told to end; whatever is still open (handshakes) is cut
            setTimeout(() => {
              for (const s of sockets) s.destroy();
            }, 1500).unref();
            check();
          }),
      });
    });
  });
}
