// Small second-chance LRU for decisions keyed by text, bounded by entries AND by bytes. A hit only sets a flag:
// re-inserting into the Map on every hit (strict LRU) makes V8 compact the table again and again, which costs
// more than the lookup itself. Eviction walks from the oldest entry, giving flagged entries one more round.
//
// Security: the byte bound defends against a client that sends many distinct large statements to grow the
// cache (and the whole broker) until V8 runs out of memory; an entry larger than a sixteenth of the byte budget
// is not cached at all, so one huge text can never push out the whole working set either.

interface Entry<V> {
  value: V;
  used: boolean;
  bytes: number;
}

export class LruCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private total = 0;
  /** largest single entry kept */
  readonly maxEntryBytes: number;

  /**
   * @param max       entries kept; 0 disables the cache (nothing is stored, every get misses)
   * @param maxBytes  estimated bytes kept over all entries (keys included)
   */
  constructor(private readonly max: number, private readonly maxBytes = Number.POSITIVE_INFINITY) {
    if (!Number.isInteger(max) || max < 0) throw new RangeError(`LruCache size must be a non-negative integer, got ${max}`);
    if (!(maxBytes > 0)) throw new RangeError(`LruCache byte budget must be positive, got ${maxBytes}`);
    this.maxEntryBytes = Math.floor(maxBytes / 16);
  }

  get(key: string): V | undefined {
    if (this.max === 0) return undefined;
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    e.used = true;
    return e.value;
  }

  /** `valueBytes`: an estimate of the value's retained size; the key is counted here (2 bytes a character). */
  set(key: string, value: V, valueBytes = 0): void {
    if (this.max === 0) return;
    const bytes = key.length * 2 + valueBytes + 64;
    const e = this.entries.get(key);
    if (e) {
      this.total += bytes - e.bytes;
      e.value = value;
      e.bytes = bytes;
      e.used = true;
    } else {
      if (bytes > this.maxEntryBytes) return;
      this.entries.set(key, { value, used: false, bytes });
      this.total += bytes;
    }
    // bounded: each pass either evicts or clears one flag, so at most 2 × size steps
    while (this.entries.size > this.max || this.total > this.maxBytes) {
      const [oldestKey, oldest] = this.entries.entries().next().value as [string, Entry<V>];
      this.entries.delete(oldestKey);
      if (oldest.used) {
        oldest.used = false;
        this.entries.set(oldestKey, oldest);
      } else {
        this.total -= oldest.bytes;
      }
    }
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  delete(key: string): boolean {
    const e = this.entries.get(key);
    if (!e) return false;
    this.total -= e.bytes;
    return this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
    this.total = 0;
  }

  get size(): number {
    return this.entries.size;
  }

  /** estimated bytes held */
  get bytes(): number {
    return this.total;
  }
}
