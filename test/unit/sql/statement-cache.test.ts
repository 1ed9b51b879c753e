// LruCache: bounded size, least recently used entry evicted first, get() refreshes recency.
import { describe, expect, it } from 'vitest';
import { LruCache } from '../../../src/sql/statement-cache.js';

describe('LruCache', () => {
  it('stores and returns values', () => {
    const c = new LruCache<number>(3);
    c.set('a', 1);
    c.set('b', 2);
    expect(c.get('a')).toBe(1);
    expect(c.get('b')).toBe(2);
    expect(c.get('z')).toBeUndefined();
    expect(c.size).toBe(2);
  });

  it('evicts the least recently used entry when full', () => {
    const c = new LruCache<number>(2);
    c.set('a', 1);
    c.set('b', 2);
    c.get('a'); // a is now the most recent
    c.set('c', 3);
    expect(c.has('b')).toBe(false);
    expect(c.get('a')).toBe(1);
    expect(c.get('c')).toBe(3);
    expect(c.size).toBe(2);
  });

  it('overwriting a key refreshes it without growing', () => {
    const c = new LruCache<string>(2);
    c.set('a', 'x');
    c.set('b', 'y');
    c.set('a', 'z');
    c.set('c', 'w');
    expect(c.get('a')).toBe('z');
    expect(c.has('b')).toBe(false);
    expect(c.size).toBe(2);
  });

  it('never holds more than max entries', () => {
    const c = new LruCache<number>(100);
    for (let i = 0; i < 1000; i++) c.set(`k${i}`, i);
    expect(c.size).toBe(100);
    expect(c.get('k999')).toBe(999);
    expect(c.get('k899')).toBeUndefined();
    c.clear();
    expect(c.size).toBe(0);
  });

  it('size 0 is "no cache": nothing is stored, every lookup misses', () => {
    const c = new LruCache<number>(0);
    c.set('a', 1);
    expect(c.get('a')).toBeUndefined();
    expect(c.size).toBe(0);
    expect(() => new LruCache(-1)).toThrow(RangeError);
    expect(() => new LruCache(1.5)).toThrow(RangeError);
  });

  it('never holds more than its byte budget, however many distinct large values arrive', () => {
    const c = new LruCache<string>(10_000, 1 << 20);
    for (let i = 0; i < 5000; i++) c.set(`k${i}-${'x'.repeat(1000)}`, 'v', 4000);
    expect(c.bytes).toBeLessThanOrEqual(1 << 20);
    expect(c.size).toBeGreaterThan(100);
    expect(c.size).toBeLessThan(5000);
  });

  it('does not cache an entry larger than a sixteenth of the budget', () => {
    const c = new LruCache<string>(100, 1 << 20);
    c.set('small', 'v', 100);
    c.set('big', 'v', (1 << 20) / 16);
    expect(c.has('big')).toBe(false);
    expect(c.get('small')).toBe('v');
    // a huge key alone counts too (2 bytes a character)
    c.set('k'.repeat(40_000), 'v');
    expect(c.size).toBe(1);
  });

  it('keeps the byte count exact through overwrite, delete and clear', () => {
    const c = new LruCache<string>(10, 1 << 20);
    c.set('a', 'v', 1000);
    const one = c.bytes;
    c.set('a', 'w', 3000);
    expect(c.bytes).toBe(one + 2000);
    c.delete('a');
    expect(c.bytes).toBe(0);
    c.set('b', 'v', 10);
    c.clear();
    expect(c.bytes).toBe(0);
  });

  it('a hit entry survives one eviction round even when the budget forces eviction', () => {
    const c = new LruCache<string>(1000, 64 * 1024);
    c.set('hot', 'v', 1000);
    for (let i = 0; i < 200; i++) {
      c.get('hot');
      c.set(`cold${i}`, 'v', 1000);
    }
    expect(c.get('hot')).toBe('v');
    expect(c.bytes).toBeLessThanOrEqual(64 * 1024);
  });
});
