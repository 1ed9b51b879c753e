// Picks a free TCP port on 127.0.0.1 by letting the kernel choose one and releasing it.
import { createServer } from 'node:net';

/** There is a short window in which another process could take the port; acceptable for a local benchmark. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
