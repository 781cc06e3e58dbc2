/**
 * Singleflight for registry fetches, and abort handling that turns a deadline into a TIMEOUT. The
 * caches themselves live in src/shared/cache.ts (re-exported here for existing imports).
 */
import { RegistryError } from '../errors.js';

export { ByteLru, TtlCache } from '../shared/cache.js';

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
      const started = { promise: fn(controller.signal), controller, waiters: 0 };
      // one handler for both outcomes (it also marks a rejection handled: the waiters get it)
      const done = (): void => {
        if (this.#flights.get(key) === started) this.#flights.delete(key);
      };
      started.promise.then(done, done);
      flight = started;
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
