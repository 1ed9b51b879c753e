// The PostgreSQL listener: accepts client connections and hands each to handlePgClient.
import { createServer, type Socket } from 'node:net';
import { handlePgClient, type PgDeps } from './client-connection.js';

export interface PgListener {
  host: string;
  port: number;
  /** stops accepting new connections; open sessions carry on (the drain ends them) */
  stopAccepting(): void;
  close(): Promise<void>;
}

export function startPgListener(host: string, port: number, deps: PgDeps): Promise<PgListener> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    handlePgClient(socket, deps).catch((e) => {
      deps.logger.error({ err: (e as Error).message }, 'unexpected error in client connection');
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
        close: () =>
          new Promise<void>((done) => {
            if (server.listening) server.close();
            // resolves once every client socket has closed (stopAccepting may have closed the server earlier)
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
