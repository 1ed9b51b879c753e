// Pull-style reader for the handshake phases (startup, authentication), where the broker awaits one
// message at a time. After the handshake `takeRest()` hands the unread bytes to the streaming scanner.
import type { Duplex } from 'node:stream';
import { BrokerError, ErrorCode } from '../errors.js';
import { SilentClose } from './startup-phase.js';

export class MessageReader {
  private buf: Buffer = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  private closed: Error | null = null;
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

  constructor(private readonly socket: Duplex, private readonly maxBytes = 10_000) {
    socket.on('data', this.onData);
    socket.on('end', this.onClose);
    socket.on('close', this.onClose);
    socket.on('error', this.onError);
  }

  get buffered(): number {
    return this.buf.length;
  }

  private wake() {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  private async need(n: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
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

  private take(n: number): Buffer {
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** Untyped startup-phase packet: int32 length (including itself), then body. */
  async readStartup(timeoutMs = 30_000): Promise<Buffer> {
    try {
      await this.need(4, timeoutMs);
      const len = this.buf.readInt32BE(0);
      // PostgreSQL caps startup packets at 10000 bytes; a larger claim is hostile or garbage (or a Terminate)
      if (len < 8 || len > this.maxBytes) throw new SilentClose(`invalid length of startup packet (${len})`);
      await this.need(len, timeoutMs);
      return this.take(len).subarray(4);
    } catch (e) {
      // the server closes without a word when the startup packet is cut short or never comes
      if (e instanceof SilentClose) throw e;
      throw new SilentClose(`incomplete startup packet: ${(e as Error).message}`);
    }
  }

  async readTyped(timeoutMs = 30_000): Promise<{ code: number; body: Buffer }> {
    // need() only when the bytes are not here yet: a login reads a dozen messages that arrived together
    if (this.buf.length < 5) await this.need(5, timeoutMs);
    const code = this.buf[0]!;
    const len = this.buf.readInt32BE(1);
    if (len < 4 || len > this.maxBytes) throw new BrokerError(ErrorCode.PROTOCOL_VIOLATION, `invalid message length ${len}`);
    if (this.buf.length < 1 + len) await this.need(1 + len, timeoutMs);
    const msg = this.take(1 + len);
    return { code, body: msg.subarray(5) };
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
