// Parts of one outgoing write, joined: the relays forward most bytes as views into the chunk they read, and a
// message they look at (CommandComplete, ReadyForQuery) usually sits right after the run forwarded before it.
// Views that are adjacent in the same memory become one view (no copy); what remains small is copied into one
// buffer. Either way the socket gets one write instead of a writev of several parts, which costs the broker
// per part in both JavaScript and the kernel.

/** Below this many bytes in all, parts that are not adjacent are copied into one buffer. */
const COPY_MAX = 16 * 1024;

/** One buffer with the bytes of `parts` in order, or undefined when they are better written as they are. */
export function joined(parts: readonly Buffer[]): Buffer | undefined {
  let total = 0;
  let adjacent = true;
  const first = parts[0]!;
  for (let i = 0; i < parts.length; i++) {
    const b = parts[i]!;
    total += b.length;
    if (i > 0 && adjacent) {
      const prev = parts[i - 1]!;
      adjacent = b.buffer === first.buffer && prev.byteOffset + prev.length === b.byteOffset;
    }
  }
  if (adjacent) return Buffer.from(first.buffer, first.byteOffset, total);
  if (total <= COPY_MAX) return Buffer.concat(parts as Buffer[], total);
  return undefined;
}
