// Small second-chance LRU for decisions keyed by text. A hit only sets a flag: re-inserting into the Map on
// every hit (strict LRU) makes V8 compact the table again and again, which costs more than the lookup itself.
// Eviction walks from the oldest entry, giving flagged entries one more round at the young end.

interface Entry<V> {
  value: V;
  used: boolean;
}

export class LruCache<V> {
  private readonly entries = new Map<string, Entry<V>>();

  constructor(private readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`LruCache size must be a positive integer, got ${max}`);
  }

  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    e.used = true;
    return e.value;
  }

  set(key: string, value: V): void {
    const e = this.entries.get(key);
    if (e) {
      e.value = value;
      e.used = true;
      return;
    }
    this.entries.set(key, { value, used: false });
    // bounded: each pass either evicts or clears one flag, so at most size + 1 steps
    while (this.entries.size > this.max) {
      const [oldestKey, oldest] = this.entries.entries().next().value as [string, Entry<V>];
      this.entries.delete(oldestKey);
      if (oldest.used) {
        oldest.used = false;
        this.entries.set(oldestKey, oldest);
      }
    }
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  delete(key: string): boolean {
    return this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
