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

  it('rejects a size below one', () => {
    expect(() => new LruCache(0)).toThrow(RangeError);
  });
});
