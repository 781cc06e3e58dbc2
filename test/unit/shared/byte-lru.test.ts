import { describe, expect, it } from 'vitest';
import { ByteLru } from '../../../src/shared/cache.js';

describe('ByteLru', () => {
  it('evicts least recently used entries until the bytes fit, and only then', () => {
    const lru = new ByteLru<string>(100);
    lru.set('a', 'A', 25);
    lru.set('b', 'B', 25);
    lru.set('c', 'C', 25);
    lru.set('d', 'D', 25);
    expect(lru.bytes).toBe(100);
    expect(lru.size).toBe(4);
    expect(lru.get('a')).toBe('A'); // a is now the most recently used
    lru.set('e', 'E', 20); // 120 bytes: b (least recent) goes, 95 fit
    expect(lru.get('b')).toBeUndefined();
    expect([lru.get('a'), lru.get('c'), lru.get('d'), lru.get('e')]).toEqual(['A', 'C', 'D', 'E']);
    expect(lru.bytes).toBe(95);
    expect(lru.get('a')).toBe('A'); // reads order them c, d, e, a
    lru.set('f', 'F', 25); // 120: c goes, then 95 fit
    lru.set('g', 'G', 25); // 120: d goes
    expect(lru.get('c')).toBeUndefined();
    expect(lru.get('d')).toBeUndefined();
    expect([lru.get('e'), lru.get('a'), lru.get('f'), lru.get('g')]).toEqual(['E', 'A', 'F', 'G']);
    expect(lru.bytes).toBe(95);
    expect(lru.size).toBe(4);
  });

  it('never holds more than maxBytes under many sets, and counts a replaced key once', () => {
    const lru = new ByteLru<number>(1000);
    for (let i = 0; i < 5000; i++) {
      lru.set(`k${i % 300}`, i, 1 + (i % 250));
      expect(lru.bytes).toBeLessThanOrEqual(1000);
    }
    let sum = 0;
    for (let i = 0; i < 300; i++) if (lru.get(`k${i}`) !== undefined) sum++;
    expect(sum).toBe(lru.size);
    lru.set('x', 1, 10);
    lru.set('x', 2, 30);
    expect(lru.get('x')).toBe(2);
    lru.clear();
    lru.set('x', 3, 40);
    lru.set('x', 4, 60);
    expect(lru.bytes).toBe(60);
  });

  it('does not store an entry over a quarter of the budget, nor an expired one', () => {
    let now = 0;
    const lru = new ByteLru<string>(100, () => now);
    lru.set('big', 'B', 26);
    lru.set('zero', 'Z', 1, 0);
    expect(lru.size).toBe(0);
    lru.set('t', 'T', 10, 50);
    now = 49;
    expect(lru.get('t')).toBe('T');
    now = 50;
    expect(lru.get('t')).toBeUndefined();
    expect(lru.bytes).toBe(0);
  });
});
