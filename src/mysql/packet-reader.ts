// Pull-style packet reader for the handshake phases (greeting, TLS upgrade, authentication), where one side
// awaits one packet at a time. After the handshake `detach()` hands the unread bytes to the streaming relay.
import type { Duplex } from 'node:stream';
import { BrokerError, ErrorCode } from '../errors.js';
import { MAX_PACKET_PAYLOAD } from './codes.js';

export class PacketReader {
  private buf: Buffer = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  private closed: Error | null = null;
  /** sequence id of the last packet read; the answer to it carries the next one */
  lastSeq = -1;
  private readonly onData = (chunk: Buffer) => {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    this.wake();
  };
  private readonly onClose = () => {
    this.closed ??= new BrokerError(ErrorCode.PROTOCOL_VIOLATION, 'connection closed during handshake');
    this.wake();
  };
  private readonly onError = (e: Error) => {
    this.closed ??= e;
    this.wake();
  };

  /** @param maxBytes largest logical packet accepted: handshake packets are small, a larger claim is hostile */
  constructor(private readonly socket: Duplex, private readonly maxBytes = 128 * 1024) {
    socket.on('data', this.onData);
    socket.on('end', this.onClose);
    socket.on('close', this.onClose);
    socket.on('error', this.onError);
  }

  get buffered(): number {
    return this.buf.length;
  }

  get nextSeq(): number {
    return (this.lastSeq + 1) & 0xff;
  }

  private wake() {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  private async need(n: number, deadline: number): Promise<void> {
    while (this.buf.length < n) {
      if (this.closed) throw this.closed;
      const left = deadline - Date.now();
      if (left <= 0) throw new BrokerError(ErrorCode.PROTOCOL_VIOLATION, 'timed out waiting for the peer');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  /**
   * Reads one logical packet. With `expectSeq` the first physical packet must carry that sequence id
   * (a mismatch means a confused or hostile peer).
   */
  async read(timeoutMs = 30_000, expectSeq?: number): Promise<{ seq: number; payload: Buffer }> {
    const deadline = Date.now() + timeoutMs;
    const parts: Buffer[] = [];
    let total = 0;
    let first = -1;
    for (;;) {
      await this.need(4, deadline);
      const len = this.buf.readUIntLE(0, 3);
      const seq = this.buf[3]!;
      if (first < 0) {
        first = seq;
        if (expectSeq !== undefined && seq !== expectSeq) {
          throw new BrokerError(ErrorCode.PROTOCOL_VIOLATION, `packets out of order: expected sequence id ${expectSeq}, got ${seq}`);
        }
      } else if (seq !== ((this.lastSeq + 1) & 0xff)) {
        throw new BrokerError(ErrorCode.PROTOCOL_VIOLATION, `packets out of order: expected sequence id ${(this.lastSeq + 1) & 0xff}, got ${seq}`);
      }
      total += len;
      if (total > this.maxBytes) throw new BrokerError(ErrorCode.MESSAGE_TOO_LARGE, `packet of ${total} bytes exceeds the handshake limit of ${this.maxBytes}`);
      await this.need(4 + len, deadline);
      parts.push(this.buf.subarray(4, 4 + len));
      this.buf = this.buf.subarray(4 + len);
      this.lastSeq = seq;
      if (len < MAX_PACKET_PAYLOAD) break;
    }
    return { seq: first, payload: parts.length === 1 ? parts[0]! : Buffer.concat(parts) };
  }

  /** Stops reading and returns what was received but not yet consumed. */
  detach(): Buffer {
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onClose);
    this.socket.off('close', this.onClose);
    this.socket.off('error', this.onError);
    const rest = this.buf;
    this.buf = Buffer.alloc(0);
    return rest;
  }
}
