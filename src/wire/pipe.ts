// The socket wiring every relay shares: data and close handlers on both sides, bytes received during the
// handshake replayed first, and backpressure (stop reading a side while the other cannot take more).
import type { Duplex } from 'node:stream';

export interface RelayHandlers {
  onClientData(chunk: Buffer): void;
  onUpstreamData(chunk: Buffer): void;
  onClientClose(): void;
  onUpstreamClose(): void;
}

/** Wires the handlers; returns a function that removes exactly these listeners (a relay handing its sockets on). */
export function attachRelay(client: Duplex, upstream: Duplex, h: RelayHandlers, clientRest: Buffer, upstreamRest: Buffer): () => void {
  const onClientData = (chunk: Buffer) => h.onClientData(chunk);
  const onUpstreamData = (chunk: Buffer) => h.onUpstreamData(chunk);
  const ignore = () => undefined;
  const onClientClose = () => h.onClientClose();
  const onUpstreamClose = () => h.onUpstreamClose();
  client.on('data', onClientData);
  upstream.on('data', onUpstreamData);
  client.on('error', ignore);
  upstream.on('error', ignore);
  client.on('close', onClientClose);
  client.on('end', onClientClose);
  upstream.on('close', onUpstreamClose);
  upstream.on('end', onUpstreamClose);
  if (upstreamRest.length) h.onUpstreamData(upstreamRest);
  if (clientRest.length) h.onClientData(clientRest);
  client.resume();
  upstream.resume();
  return () => {
    client.off('data', onClientData);
    client.off('close', onClientClose);
    client.off('end', onClientClose);
    upstream.off('data', onUpstreamData);
    upstream.off('close', onUpstreamClose);
    upstream.off('end', onUpstreamClose);
  };
}

/** Pauses `reader` until `writer` drains, when the writer's buffer is full (never buffer a whole result). */
export function holdUntilDrained(reader: Duplex, writer: Duplex, resumeIf: () => boolean = () => true): void {
  if (writer.writableNeedDrain && !reader.isPaused()) {
    reader.pause();
    writer.once('drain', () => {
      if (resumeIf()) reader.resume();
    });
  }
}
