// The bare Node relay arm of the benchmarks: a plain `net` pipe with no protocol work, the floor of any Node proxy.
// Usage: node bench/lib/bare-relay.mjs UPSTREAM_HOST UPSTREAM_PORT [CERT_FILE KEY_FILE]
//   (prints "listening PORT" once ready)
// With a certificate pair it is the floor of a TLS-terminating PostgreSQL proxy: it answers the client's 8-byte
// SSLRequest with 'S', runs the TLS handshake on the client socket and pipes the decrypted bytes to a plaintext
// upstream, which is what the broker does with `tls.clients: require`.
import { readFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { TLSSocket, createSecureContext } from 'node:tls';

const [host, port] = [process.argv[2] ?? '127.0.0.1', Number(process.argv[3])];
const secureContext = process.argv[5]
  ? createSecureContext({ cert: readFileSync(process.argv[4], 'utf8'), key: readFileSync(process.argv[5], 'utf8'), minVersion: 'TLSv1.2' })
  : undefined;

function pipeBoth(client, first) {
  const upstream = connect({ host, port });
  upstream.setNoDelay(true);
  const end = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', end).on('close', end);
  upstream.on('error', end).on('close', end);
  if (first?.length) upstream.write(first);
  client.pipe(upstream);
  upstream.pipe(client);
}

const server = createServer((socket) => {
  socket.setNoDelay(true);
  if (!secureContext) return pipeBoth(socket);
  let head = Buffer.alloc(0);
  const onData = (chunk) => {
    head = Buffer.concat([head, chunk]);
    if (head.length < 8) return;
    socket.off('data', onData);
    socket.pause();
    // SSLRequest: length 8, code 80877103
    if (head.readUInt32BE(0) !== 8 || head.readUInt32BE(4) !== 80877103) return void socket.destroy();
    socket.write('S');
    const tls = new TLSSocket(socket, { isServer: true, secureContext });
    tls.once('secure', () => pipeBoth(tls, head.subarray(8)));
    tls.on('error', () => socket.destroy());
    socket.resume();
  };
  socket.on('data', onData);
  socket.on('error', () => socket.destroy());
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`listening ${server.address().port}\n`));
process.on('SIGTERM', () => process.exit(0));
