// The bare Node relay arm of the benchmarks: a plain `net` pipe with no protocol work, the floor of any Node proxy.
// Usage: node bench/lib/bare-relay.mjs UPSTREAM_HOST UPSTREAM_PORT  (prints "listening PORT" once ready)
import { createServer, connect } from 'node:net';

const [host, port] = [process.argv[2] ?? '127.0.0.1', Number(process.argv[3])];
const server = createServer((client) => {
  client.setNoDelay(true);
  const upstream = connect({ host, port });
  upstream.setNoDelay(true);
  const end = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', end).on('close', end);
  upstream.on('error', end).on('close', end);
  client.pipe(upstream);
  upstream.pipe(client);
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`listening ${server.address().port}\n`));
process.on('SIGTERM', () => process.exit(0));
