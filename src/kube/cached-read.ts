/**
 * One API read per key, shared: concurrent callers of a key get the same pending promise, and a
 * successful result is kept for `ttlMs`. A failed read is forgotten at once, so the next caller asks
 * the API server again. Without `onError` the cached promise rejects with the read's error; with it,
 * the failure resolves to what `onError` returns (callers of a lookup that must not throw).
 */
import type { TtlCache } from '../shared/cache.js';

export function cachedRead<T>(
  cache: TtlCache<Promise<T>>,
  key: string,
  ttlMs: number,
  read: () => Promise<T>,
  onError?: (err: unknown) => T,
): Promise<T> {
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const pending = read().then(undefined, (err: unknown) => {
    cache.delete(key);
    if (onError === undefined) throw err;
    return onError(err);
  });
  cache.set(key, pending, ttlMs);
  return pending;
}
