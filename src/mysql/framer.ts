// Streaming packet scanner: reads only packet headers (and the first payload byte of each logical packet),
// then, as the sink decides, forwards the bytes as they lie in the chunk (send), drops them (skip), or
// hands the whole logical packet to a callback (fetch). Payloads of 16 MiB - 1 continue in the next packet;
// the continuation's sequence id must follow on.
import { BrokerError, ErrorCode } from '../errors.js';
import { MAX_PACKET_PAYLOAD } from './codes.js';

export type Disposition = 'send' | 'fetch' | 'skip';

export interface PacketSink {
  /**
   * A logical packet starts. `length` is its first physical packet's payload length, `first` its first payload
   * byte (-1 when empty). May throw to reject the stream.
   */
  onStart(seq: number, length: number, first: number): Disposition;
  /** Bytes of sent packets, possibly a part of one, always in stream order. */
  onForward(bytes: Buffer): void;
  /** A whole fetched logical packet: payload (continuations joined) and the raw bytes with headers. */
  onPacket(payload: Buffer, raw: Buffer, seq: number): void;
}

export class PacketScanner {
  private readonly hdr = Buffer.alloc(4);
  private hdrLen = 0;
  /** payload bytes still to come in the current physical packet; -1 at a header */
  private remaining = -1;
  /** inside a logical packet whose previous physical packet was full size */
  private continued = false;
  private disp: Disposition = 'send';
  private curLen = 0;
  private curSeq = 0;
  private firstSeq = 0;
  private fetched = 0;
  private payloadParts: Buffer[] = [];
  private rawParts: Buffer[] = [];
  /** bytes in rawParts */
  private partsBytes = 0;
  private stopped = false;
  /** paused after a packet: the rest of the chunk waits here for resume() */
  private paused = false;
  private held: Buffer | null = null;
  /** sequence id of the last complete physical packet */
  lastSeq = -1;

  constructor(private readonly maxFetch: number, private readonly sink: PacketSink) {}

  /** True between logical packets: a place where the broker may insert packets of its own. */
  get atBoundary(): boolean {
    return this.remaining < 0 && this.hdrLen === 0 && !this.continued;
  }

  /**
   * Bytes held for a fetched packet not yet complete. The relay bounds these per session in time and across
   * sessions in size: a client that announces a large packet and then stalls would otherwise pin that memory.
   */
  get bufferedBytes(): number {
    return this.partsBytes;
  }

  stop(): void {
    this.stopped = true;
    this.payloadParts = [];
    this.rawParts = [];
    this.partsBytes = 0;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /**
   * Stops handing over packets after the current one (called from onPacket): the rest of the chunk, and chunks
   * pushed meanwhile, are kept until resume(). Lets the relay finish an asynchronous check of one command before
   * it reads the next, in order.
   */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    const held = this.held;
    this.held = null;
    if (held) this.push(held);
  }

  push(chunk: Buffer): void {
    if (this.paused) {
      this.held = this.held ? Buffer.concat([this.held, chunk]) : Buffer.from(chunk);
      return;
    }
    const n = chunk.length;
    let off = 0;
    let fwdStart = -1;
    const flush = (end: number) => {
      if (fwdStart >= 0 && end > fwdStart) this.sink.onForward(chunk.subarray(fwdStart, end));
      fwdStart = -1;
    };
    while (off < n && !this.stopped) {
      if (this.paused) {
        flush(off);
        this.held = Buffer.from(chunk.subarray(off));
        return;
      }
      if (this.remaining < 0) {
        let head: Buffer;
        let inChunk = false;
        if (this.hdrLen === 0 && n - off >= 4) {
          head = chunk.subarray(off, off + 4);
          inChunk = true;
          off += 4;
        } else if (this.hdrLen < 4) {
          flush(off);
          const take = Math.min(4 - this.hdrLen, n - off);
          chunk.copy(this.hdr, this.hdrLen, off, off + take);
          this.hdrLen += take;
          off += take;
          if (this.hdrLen < 4) break;
          head = Buffer.from(this.hdr);
        } else {
          head = Buffer.from(this.hdr); // header kept while waiting for the first payload byte
        }
        const len = head.readUIntLE(0, 3);
        const seq = head[3]!;
        if (!this.continued && len > 0 && off >= n) {
          // the sink decides on the first payload byte, which is in the next chunk
          if (inChunk) {
            flush(off - 4);
            head.copy(this.hdr);
          }
          this.hdrLen = 4;
          return;
        }
        this.hdrLen = 0;
        this.begin(len, seq, !this.continued && len > 0 ? chunk[off]! : -1);
        if (this.disp === 'send') {
          if (inChunk) {
            if (fwdStart < 0) fwdStart = off - 4;
          } else {
            flush(off);
            this.sink.onForward(head);
          }
        } else {
          if (inChunk) flush(off - 4);
          if (this.disp === 'fetch') {
            // fast path: a single packet wholly inside this chunk is handed over as a view, no copy
            if (inChunk && !this.continued && len < MAX_PACKET_PAYLOAD && off + len <= n) {
              const raw = chunk.subarray(off - 4, off + len);
              off += len;
              this.remaining = -1;
              this.lastSeq = seq;
              this.sink.onPacket(raw.subarray(4), raw, seq);
              continue;
            }
            this.rawParts.push(head);
            this.partsBytes += 4;
          }
        }
        if (this.remaining === 0) this.endPhysical();
        continue;
      }
      const take = Math.min(this.remaining, n - off);
      if (this.disp === 'send') {
        if (fwdStart < 0) fwdStart = off;
      } else {
        flush(off);
        if (this.disp === 'fetch') {
          const part = chunk.subarray(off, off + take);
          this.payloadParts.push(part);
          this.rawParts.push(part);
          this.partsBytes += take;
        }
      }
      off += take;
      this.remaining -= take;
      if (this.remaining === 0) this.endPhysical();
    }
    if (!this.stopped) flush(off);
  }

  private begin(len: number, seq: number, first: number): void {
    if (this.continued) {
      // Continuations carry the next sequence id; anything else means the stream lost its framing.
      if (seq !== ((this.lastSeq + 1) & 0xff)) {
        this.stopped = true;
        throw new BrokerError(ErrorCode.PROTOCOL_VIOLATION, `packets out of order: expected sequence id ${(this.lastSeq + 1) & 0xff}, got ${seq}`);
      }
      this.fetched += len;
    } else {
      this.disp = this.sink.onStart(seq, len, first);
      this.firstSeq = seq;
      this.fetched = len;
      this.payloadParts = [];
      this.rawParts = [];
      this.partsBytes = 0;
    }
    if (this.disp === 'fetch' && this.fetched > this.maxFetch) {
      this.stopped = true;
      throw new BrokerError(ErrorCode.MESSAGE_TOO_LARGE, `packet of more than ${this.maxFetch} bytes exceeds the limit`);
    }
    this.curLen = len;
    this.curSeq = seq;
    this.remaining = len;
  }

  private endPhysical(): void {
    this.remaining = -1;
    this.lastSeq = this.curSeq;
    if (this.curLen === MAX_PACKET_PAYLOAD) {
      this.continued = true;
      return;
    }
    this.continued = false;
    if (this.disp === 'fetch') {
      const payload = this.payloadParts.length === 1 ? this.payloadParts[0]! : Buffer.concat(this.payloadParts);
      const raw = Buffer.concat(this.rawParts);
      this.payloadParts = [];
      this.rawParts = [];
      this.partsBytes = 0;
      this.sink.onPacket(payload, raw, this.firstSeq);
    }
  }
}
