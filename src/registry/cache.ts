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
  #flights = new Map<string, Flight>();

  do<T>(key: string, signal: AbortSignal, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (signal.aborted) return Promise.reject(signal.reason as Error);
    let flight = this.#flights.get(key);
    if (flight === undefined) {
      try {
        flight = new Flight(this.#flights, key, fn);
      } catch (err) {
        return Promise.reject(err as Error);
      }
      this.#flights.set(key, flight);
    }
    return new Waiter<T>(flight, signal).promise;
  }

  get inFlight(): number {
    return this.#flights.size;
  }
}

/** One shared fetch: it leaves the map when it settles, or when its last waiter gave up. */
class Flight {
  readonly controller = new AbortController();
  readonly promise: Promise<unknown>;
  waiters = 0;

  constructor(
    readonly flights: Map<string, Flight>,
    readonly key: string,
    fn: (signal: AbortSignal) => Promise<unknown>,
  ) {
    this.promise = fn(this.controller.signal);
    // one handler for both outcomes (it also marks a rejection handled: the waiters get it)
    const done = (): void => this.forget();
    this.promise.then(done, done);
  }

  forget(): void {
    if (this.flights.get(this.key) === this) this.flights.delete(this.key);
  }
}

/**
 * One caller of a flight: settles as the flight does, or with a TIMEOUT as soon as its signal aborts
 * (it is the signal's listener itself: no closure for it). The last waiter to leave with an aborted
 * signal aborts the flight. What `raceAbort` and a try/finally in an async function did, in fewer
 * objects per fetch (every registry request runs through one).
 */
class Waiter<T> {
  readonly promise: Promise<T>;
  #resolve!: (value: T) => void;
  #reject!: (err: unknown) => void;
  #left = false;

  constructor(
    readonly flight: Flight,
    readonly signal: AbortSignal,
  ) {
    this.promise = new Promise<T>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    flight.waiters++;
    signal.addEventListener('abort', this, { once: true });
    flight.promise.then(
      (value) => {
        if (this.#leave()) this.#resolve(value as T);
      },
      (err: unknown) => {
        if (this.#leave()) this.#reject(err);
      },
    );
  }

  /** The caller's signal aborted. */
  handleEvent(): void {
    if (this.#leave()) this.#reject(abortError(this.signal));
  }

  #leave(): boolean {
    if (this.#left) return false;
    this.#left = true;
    const { flight, signal } = this;
    signal.removeEventListener('abort', this);
    flight.waiters--;
    if (flight.waiters === 0 && signal.aborted) {
      flight.controller.abort(signal.reason);
      flight.forget();
    }
    return true;
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
