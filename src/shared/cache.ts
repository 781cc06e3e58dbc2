/**
 * In-memory caches shared by every folder: a TTL cache with an LRU bound on entries (tag → digest,
 * pull credentials, namespace labels, key secrets) and a byte-bounded LRU (digest-addressed content).
 * Clocks are injectable so TTL tests never sleep. Callers store only successes.
 */

/**
 * Least recently used entries go first once their bytes pass `maxBytes`; an entry may also carry a
 * TTL (`set`'s `ttlMs`, default: never expires) read from the injectable clock.
 */
export class ByteLru<V> {
  #entries = new Map<string, { value: V; bytes: number; expires: number }>();
  #bytes = 0;

  constructor(
    readonly maxBytes: number,
    readonly now: () => number = Date.now,
  ) {}

  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#remove(key);
    if (entry.expires <= this.now()) return undefined;
    this.#insert(key, entry);
    return entry.value;
  }

  /** Not stored: an entry over a quarter of the budget (one entry never evicts most of the cache). */
  set(key: string, value: V, bytes: number, ttlMs = Infinity): void {
    if (ttlMs <= 0 || bytes > this.maxBytes / 4) return;
    this.#remove(key);
    this.#insert(key, { value, bytes, expires: this.now() + ttlMs });
    // Most sets fit: an iterator only when something must go.
    if (this.#bytes > this.maxBytes) this.#evict();
  }

  #evict(): void {
    for (const k of this.#entries.keys()) {
      if (this.#bytes <= this.maxBytes) break;
      this.#remove(k);
    }
  }

  delete(key: string): void {
    this.#remove(key);
  }

  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }

  get size(): number {
    return this.#entries.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  #insert(key: string, entry: { value: V; bytes: number; expires: number }): void {
    this.#entries.set(key, entry);
    this.#bytes += entry.bytes;
  }

  #remove(key: string): void {
    const old = this.#entries.get(key);
    if (old === undefined) return;
    this.#entries.delete(key);
    this.#bytes -= old.bytes;
  }
}

export interface TtlCacheOptions {
  /**
   * Which entry goes first when `maxEntries` is reached: the oldest written (`write`, the default) or
   * the least recently read or written (`use`: a true LRU).
   */
  evict?: 'write' | 'use';
}

/** Entries expire `ttlMs` after they were set; at most `maxEntries` of them are kept. */
export class TtlCache<V> {
  #entries = new Map<string, { value: V; expires: number }>();
  readonly #touchOnGet: boolean;

  constructor(
    readonly maxEntries: number,
    readonly now: () => number = Date.now,
    options: TtlCacheOptions = {},
  ) {
    this.#touchOnGet = options.evict === 'use';
  }

  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expires <= this.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    if (this.#touchOnGet) {
      this.#entries.delete(key);
      this.#entries.set(key, entry);
    }
    return entry.value;
  }

  set(key: string, value: V, ttlMs: number): void {
    if (ttlMs <= 0 || this.maxEntries <= 0) return;
    this.#entries.delete(key);
    this.#entries.set(key, { value, expires: this.now() + ttlMs });
    while (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }

  /** Entries held, expired ones not yet dropped included. */
  get size(): number {
    return this.#entries.size;
  }
}

/**
 * Remembers `compute(key)` for the last `max` distinct keys (the oldest inserted goes first). For
 * pure functions of a string that every review repeats (parsing the same image names, matching them
 * against the same globs): a cached decision should not redo them. Thrown errors are not remembered;
 * at most `max` keys of at most `maxKeyLength` characters are held.
 */
export function memoize<V>(
  compute: (key: string) => V,
  { max = 1024, maxKeyLength = 512 }: { max?: number; maxKeyLength?: number } = {},
): (key: string) => V {
  const known = new Map<string, V>();
  return (key) => {
    // A pod author chooses the keys: long ones are computed each time, so memory stays bounded.
    if (key.length > maxKeyLength) return compute(key);
    const hit = known.get(key);
    if (hit !== undefined || known.has(key)) return hit as V;
    const value = compute(key);
    if (known.size >= max) {
      const oldest = known.keys().next();
      if (oldest.done !== true) known.delete(oldest.value);
    }
    known.set(key, value);
    return value;
  };
}
