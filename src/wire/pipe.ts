// The socket wiring every relay shares: data and close handlers on both sides, bytes received during the
// handshake replayed first, and backpressure (stop reading a side while the other cannot take more).
import type { Duplex } from 'node:stream';

export interface RelayHandlers {
  onClientData(chunk: Buffer): void;
  onUpstreamData(chunk: Buffer): void;
  onClientClose(): void;
  onUpstreamClose(): void;
}

export function attachRelay(client: Duplex, upstream: Duplex, h: RelayHandlers, clientRest: Buffer, upstreamRest: Buffer): void {
  client.on('data', (chunk: Buffer) => h.onClientData(chunk));
  upstream.on('data', (chunk: Buffer) => h.onUpstreamData(chunk));
  client.on('error', () => undefined);
  upstream.on('error', () => undefined);
  client.on('close', () => h.onClientClose());
  client.on('end', () => h.onClientClose());
  upstream.on('close', () => h.onUpstreamClose());
  upstream.on('end', () => h.onUpstreamClose());
  if (upstreamRest.length) h.onUpstreamData(upstreamRest);
  if (clientRest.length) h.onClientData(clientRest);
  client.resume();
  upstream.resume();
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
