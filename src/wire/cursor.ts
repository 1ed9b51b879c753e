// A read position in one message's bytes, for the protocol decoders: every read checks the bounds first and
// fails with the decoder's own error, so a short or lying length field never reads past the message (and never
// surfaces as a RangeError from Buffer). Reading moves only the cursor: decoders stay free of side effects.

export class ByteCursor {
  constructor(
    readonly buf: Buffer,
    /** offset of the next byte to read */
    public off = 0,
    /** the decoder's error for a malformed message (mysql/packets.ts and pg/messages.ts have their own) */
    private readonly fail: (message: string) => Error = (m) => new RangeError(m),
  ) {}

  get remaining(): number {
    return this.buf.length - this.off;
  }

  get atEnd(): boolean {
    return this.off >= this.buf.length;
  }

  private need(n: number, what: string): void {
    if (n < 0 || this.off + n > this.buf.length) throw this.fail(`${what} past the end of the message`);
  }

  u8(what = 'byte'): number {
    this.need(1, what);
    return this.buf[this.off++]!;
  }

  u16le(what = 'integer'): number {
    this.need(2, what);
    const v = this.buf.readUInt16LE(this.off);
    this.off += 2;
    return v;
  }

  u32le(what = 'integer'): number {
    this.need(4, what);
    const v = this.buf.readUInt32LE(this.off);
    this.off += 4;
    return v;
  }

  i16be(what = 'integer'): number {
    this.need(2, what);
    const v = this.buf.readInt16BE(this.off);
    this.off += 2;
    return v;
  }

  u32be(what = 'integer'): number {
    this.need(4, what);
    const v = this.buf.readUInt32BE(this.off);
    this.off += 4;
    return v;
  }

  skip(n: number, what = 'field'): void {
    this.need(n, what);
    this.off += n;
  }

  bytes(n: number, what = 'field'): Buffer {
    this.need(n, what);
    const b = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return b;
  }

  /** A NUL-terminated UTF-8 string; the cursor moves past the NUL. */
  cstring(what = 'string'): string {
    const end = this.buf.indexOf(0, this.off);
    if (end < 0) throw this.fail(`${what} not terminated`);
    const s = this.buf.toString('utf8', this.off, end);
    this.off = end + 1;
    return s;
  }

  /** A string ended by a NUL or by the end of the message (MySQL's trailing plugin names). */
  cstringOrRest(): string {
    const end = this.buf.indexOf(0, this.off);
    const s = this.buf.toString('utf8', this.off, end < 0 ? this.buf.length : end);
    this.off = end < 0 ? this.buf.length : end + 1;
    return s;
  }

  /**
   * A MySQL length-encoded integer (1, 3, 4 or 9 bytes). NULL (0xfb) reads as -1. Values beyond 2^53 are refused:
   * they are lengths and counts the broker must not round.
   */
  lenenc(what = 'length-encoded integer'): number {
    if (this.atEnd) throw this.fail(`${what} past the end of the packet`);
    const first = this.buf[this.off]!;
    if (first < 0xfb) return (this.off++, first);
    if (first === 0xfb) return (this.off++, -1);
    const size = first === 0xfc ? 2 : first === 0xfd ? 3 : first === 0xfe ? 8 : -1;
    if (size < 0) throw this.fail(`invalid ${what}`);
    if (this.off + 1 + size > this.buf.length) throw this.fail(`${what} past the end of the packet`);
    let v: number;
    if (size === 8) {
      const big = this.buf.readBigUInt64LE(this.off + 1);
      if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw this.fail(`${what} too large`);
      v = Number(big);
    } else {
      v = this.buf.readUIntLE(this.off + 1, size);
    }
    this.off += 1 + size;
    return v;
  }

  /** A MySQL length-encoded string's bytes (NULL reads as empty). */
  lenencBytes(what = 'length-encoded string'): Buffer {
    const len = this.lenenc();
    if (len < 0) return Buffer.alloc(0);
    if (this.off + len > this.buf.length) throw this.fail(`${what} past the end of the packet`);
    return this.bytes(len, what);
  }
}
