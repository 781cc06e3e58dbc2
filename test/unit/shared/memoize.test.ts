import { describe, expect, it } from 'vitest';
import { memoize } from '../../../src/shared/cache.js';

describe('memoize', () => {
  it('computes a key once while it is remembered', () => {
    const calls: string[] = [];
    const length = memoize((k) => {
      calls.push(k);
      return k.length;
    });
    expect([length('ab'), length('ab'), length('abc'), length('ab')]).toEqual([2, 2, 3, 2]);
    expect(calls).toEqual(['ab', 'abc']);
  });

  it('remembers undefined results too', () => {
    let calls = 0;
    const none = memoize(() => {
      calls++;
      return undefined;
    });
    none('x');
    none('x');
    expect(calls).toBe(1);
  });

  it('holds at most `max` keys, forgetting the oldest first', () => {
    const calls: string[] = [];
    const id = memoize(
      (k) => {
        calls.push(k);
        return k;
      },
      { max: 2 },
    );
    id('a');
    id('b');
    id('c'); // evicts a
    id('b');
    id('a'); // computed again, evicts b
    expect(calls).toEqual(['a', 'b', 'c', 'a']);
  });

  it('never stores keys longer than maxKeyLength (memory stays bounded by input it does not trust)', () => {
    let calls = 0;
    const f = memoize(
      () => {
        calls++;
        return 1;
      },
      { maxKeyLength: 4 },
    );
    f('12345');
    f('12345');
    f('1234');
    f('1234');
    expect(calls).toBe(3);
  });

  it('does not remember a thrown error', () => {
    let calls = 0;
    const f = memoize((k) => {
      calls++;
      if (calls === 1) throw new Error(`bad ${k}`);
      return k;
    });
    expect(() => f('x')).toThrow('bad x');
    expect(f('x')).toBe('x');
  });
});
