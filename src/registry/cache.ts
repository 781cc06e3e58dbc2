/**
 * Caches for registry content. Digest-addressed content is immutable (bounded LRU by bytes); tag →
 * digest entries expire after a short TTL; failures are never stored (callers only `set` successes).
 */
import { RegistryError } from '../errors.js';

export class ByteLru<V> {
  #entries = new Map<string, { value: V; bytes: number }>();
  #bytes = 0;

  constructor(readonly maxBytes: number) {}

  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.value;
  }

  set(key: string, value: V, bytes: number): void {
    if (bytes > this.maxBytes / 4) return; // one entry never evicts most of the cache
    const old = this.#entries.get(key);
    if (old !== undefined) {
      this.#bytes -= old.bytes;
      this.#entries.delete(key);
    }
    this.#entries.set(key, { value, bytes });
    this.#bytes += bytes;
    for (const [k, e] of this.#entries) {
      if (this.#bytes <= this.maxBytes) break;
      this.#entries.delete(k);
      this.#bytes -= e.bytes;
    }
  }

  get size(): number {
    return this.#entries.size;
  }

  get bytes(): number {
    return this.#bytes;
  }
}

export class TtlCache<V> {
  #entries = new Map<string, { value: V; expires: number }>();

  constructor(
    readonly maxEntries: number,
    readonly now: () => number = Date.now,
  ) {}

  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expires <= this.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: V, ttlMs: number): void {
    if (ttlMs <= 0) return;
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
}

/**
 * Concurrent identical fetches share one request. The shared fetch gets its own signal, aborted only
 * when every caller has given up, so one caller's short deadline does not fail the others.
 */
export class SingleFlight {
  #flights = new Map<string, { promise: Promise<unknown>; controller: AbortController; waiters: number }>();

  async do<T>(key: string, signal: AbortSignal, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    signal.throwIfAborted();
    let flight = this.#flights.get(key);
    if (flight === undefined) {
      const controller = new AbortController();
      const promise = fn(controller.signal).finally(() => {
        if (this.#flights.get(key)?.promise === promise) this.#flights.delete(key);
      });
      promise.catch(() => undefined);
      flight = { promise, controller, waiters: 0 };
      this.#flights.set(key, flight);
    }
    const current = flight;
    current.waiters++;
    try {
      return (await raceAbort(current.promise, signal)) as T;
    } finally {
      current.waiters--;
      if (current.waiters === 0 && signal.aborted) {
        current.controller.abort(signal.reason);
        if (this.#flights.get(key) === current) this.#flights.delete(key);
      }
    }
  }

  get inFlight(): number {
    return this.#flights.size;
  }
}

/** Resolves like `promise`, or rejects with a TIMEOUT RegistryError as soon as `signal` aborts. */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

export function abortError(signal: AbortSignal, what = 'registry request'): RegistryError {
  const reason: unknown = signal.reason;
  if (reason instanceof RegistryError) return reason;
  return new RegistryError('TIMEOUT', `${what} aborted: deadline reached`, {
    cause: reason,
    indeterminate: true,
  });
}
