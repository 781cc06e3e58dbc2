/**
 * API reads shared per key: concurrent callers of a key get the same pending promise, and a
 * successful result is kept for `ttlMs` (at most `maxEntries` keys). A failed read is forgotten at
 * once, so the next caller asks the API server again. Without `onError` the shared promise rejects
 * with the read's error; with it, the failure resolves to what `onError` returns (for lookups that
 * must not throw).
 */
import { TtlCache } from '../shared/cache.js';

export type CachedRead<T> = (
  key: string,
  read: () => Promise<T>,
  onError?: (err: unknown) => T,
) => Promise<T>;

export function cachedReads<T>(maxEntries: number, ttlMs: number): CachedRead<T> {
  const cache = new TtlCache<Promise<T>>(maxEntries);
  return (key, read, onError) => {
    const hit = cache.get(key);
    if (hit !== undefined) return hit;
    const pending = read().then(undefined, (err: unknown) => {
      cache.delete(key);
      if (onError === undefined) throw err;
      return onError(err);
    });
    cache.set(key, pending, ttlMs);
    return pending;
  };
}
