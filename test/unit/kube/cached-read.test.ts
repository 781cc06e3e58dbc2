import { describe, expect, it } from 'vitest';
import { cachedReads } from '../../../src/kube/cached-read.js';

describe('cachedReads', () => {
  it('shares one read per key while it runs and after it succeeds', async () => {
    const read = cachedReads<string>(10, 60_000);
    let calls = 0;
    const fetch = async (): Promise<string> => {
      calls++;
      await Promise.resolve();
      return 'value';
    };
    const [a, b] = await Promise.all([read('k', fetch), read('k', fetch)]);
    expect([a, b, await read('k', fetch)]).toEqual(['value', 'value', 'value']);
    expect(calls).toBe(1);
    await read('other', fetch);
    expect(calls).toBe(2);
  });

  it('forgets a failed read, rejecting with its error when there is no onError', async () => {
    const read = cachedReads<string>(10, 60_000);
    await expect(read('k', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await read('k', () => Promise.resolve('again'))).toBe('again');
  });

  it('resolves a failure to what onError returns, and still does not keep it', async () => {
    const read = cachedReads<string | undefined>(10, 60_000);
    const seen: unknown[] = [];
    const onError = (err: unknown): undefined => {
      seen.push(err);
      return undefined;
    };
    expect(await read('k', () => Promise.reject(new Error('down')), onError)).toBeUndefined();
    expect(seen).toHaveLength(1);
    expect(await read('k', () => Promise.resolve('up'), onError)).toBe('up');
  });
});
