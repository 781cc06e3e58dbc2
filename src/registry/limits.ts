/**
 * Budgets on what a registry (or a pod naming registries) can make one review and the whole process
 * spend: images, platforms, layers, signatures, connections and buffered bytes. Each exhausted budget
 * is a completed finding (the image is denied) whose code names the budget, never an indeterminate
 * one: with `failurePolicy: Ignore` a stall would admit the pod unchecked.
 */
import { RegistryError, type RegistryErrorCode } from '../errors.js';

export interface Limits {
  /** Distinct image references one review may resolve at a registry. */
  maxImagesPerReview: number;
  /** Platform manifests checked per image (after selection; an index may list more). */
  maxPlatformsPerImage: number;
  /** Layers (descriptors) in one manifest. */
  maxLayersPerManifest: number;
  /** Entries (descriptors) in one index or referrers index, checked before any entry is read. */
  maxManifestsPerIndex: number;
  /** Signature candidates per image: legacy signature layers plus bundle referrers. */
  maxSignaturesPerImage: number;
  /** Open requests (connections) to one registry host. */
  maxConnectionsPerRegistry: number;
  /** Open requests (connections) to all registries together. */
  maxConnections: number;
  /** Keep-alive sockets left open to registries with no request in flight, all hosts together. */
  maxIdleSockets: number;
  /** Response bytes buffered by the whole process for reviews in flight. */
  maxBytesInFlight: number;
  /** Response bytes one review may buffer (a share of maxBytesInFlight). */
  maxBytesPerReview: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_LIMITS: Readonly<Limits> = {
  maxImagesPerReview: 64,
  maxPlatformsPerImage: 32,
  maxLayersPerManifest: 1024,
  // Real indexes list tens (platforms plus their attestations); 1024 entries parse and check in ~1 ms.
  maxManifestsPerIndex: 1024,
  maxSignaturesPerImage: 32,
  // A 20-image pod's first wave (manifest, `.sig` tag, referrers: 3 requests per image) fits under
  // one host's cap; an open socket costs ~20 KiB (HTTP) to ~90 KiB (HTTPS) of RSS
  // (bench/socket-memory.mjs), so 256 cost at most ~23 MiB, and the byte budgets bound what they carry.
  maxConnectionsPerRegistry: 64,
  maxConnections: 256,
  // Pod specs choose the hosts: idle sockets are closed, least recently used host first, past this.
  maxIdleSockets: 64,
  maxBytesInFlight: 64 * MiB,
  maxBytesPerReview: 32 * MiB,
};

export function limitsFrom(partial: Partial<Limits> | undefined): Limits {
  const limits = { ...DEFAULT_LIMITS, ...(partial ?? {}) };
  limits.maxBytesPerReview = Math.min(limits.maxBytesPerReview, limits.maxBytesInFlight);
  return limits;
}

/** A completed (deny) finding for an exhausted budget. */
export function overBudget(
  code: RegistryErrorCode,
  message: string,
  options: { indeterminate?: boolean } = {},
): RegistryError {
  return new RegistryError(code, message, options);
}

/** Waits for a budget end this long before the review's deadline, so the budget (not TIMEOUT) is reported. */
const GIVE_UP_MARGIN_MS = 250;

/** `signal`, also aborting shortly before `deadline`: how long a review may queue for a budget. */
export function queueSignal(signal: AbortSignal, deadline: number | undefined): AbortSignal {
  if (deadline === undefined) return signal;
  const wait = Math.max(0, deadline - Date.now() - GIVE_UP_MARGIN_MS);
  return AbortSignal.any([signal, AbortSignal.timeout(wait)]);
}

interface Waiter {
  n: number;
  grant: () => void;
}

/** A counting semaphore with FIFO waiters; a waiter leaves the queue when its signal aborts. */
export class Semaphore {
  #used = 0;
  readonly #queue: Waiter[] = [];

  constructor(readonly capacity: number) {}

  get used(): number {
    return this.#used;
  }

  get waiting(): boolean {
    return this.#queue.length > 0;
  }

  /** Takes `n` units if they are free now (and nobody is queued before us). */
  tryAcquire(n: number): boolean {
    if (this.#queue.length > 0 || this.#used + n > this.capacity) return false;
    this.#used += n;
    return true;
  }

  /** Takes `n` units now or when released; rejects with `onAbort()` if `signal` aborts first. */
  acquire(n: number, signal: AbortSignal, onAbort: () => Error): Promise<void> {
    if (this.#queue.length === 0 && this.#used + n <= this.capacity) {
      this.#used += n;
      return Promise.resolve();
    }
    if (signal.aborted) return Promise.reject(onAbort());
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        n,
        grant: () => {
          signal.removeEventListener('abort', abort);
          resolve();
        },
      };
      const abort = (): void => {
        const i = this.#queue.indexOf(waiter);
        if (i >= 0) this.#queue.splice(i, 1);
        reject(onAbort());
        this.#drain();
      };
      signal.addEventListener('abort', abort, { once: true });
      this.#queue.push(waiter);
    });
  }

  release(n: number): void {
    this.#used = Math.max(0, this.#used - n);
    this.#drain();
  }

  #drain(): void {
    for (;;) {
      const next = this.#queue[0];
      if (next === undefined || this.#used + next.n > this.capacity) return;
      this.#queue.shift();
      this.#used += next.n;
      next.grant();
    }
  }
}

/**
 * One review's share of the process-wide byte budget. Bytes read for the review stay counted until
 * `release()` (the review is answered) or, at the latest, one second past the review's deadline,
 * when its answer has been given and what it parsed can be collected.
 */
export class ReviewBytes {
  #held = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly process: Semaphore,
    private readonly share: number,
    deadline: number | undefined,
  ) {
    if (deadline !== undefined) {
      this.#timer = setTimeout(() => this.release(), Math.max(0, deadline - Date.now()) + 1000);
      this.#timer.unref();
    }
  }

  get held(): number {
    return this.#held;
  }

  /**
   * Counts `n` more buffered bytes, or fails at once: waiting would hold a connection (and its socket
   * buffers) while other reviews wait for that connection, so a full budget is a denial, not a queue.
   */
  take(n: number, what: string): void {
    if (this.#held + n > this.share) {
      throw overBudget(
        'BUDGET_BYTES_IN_FLIGHT',
        `${what}: the review would buffer more than its ${this.share}-byte share of registry responses ` +
          `(maxBytesPerReview)`,
      );
    }
    if (!this.process.tryAcquire(n)) {
      throw overBudget(
        'BUDGET_BYTES_IN_FLIGHT',
        `${what}: registry responses buffered by reviews in flight are at the process budget of ` +
          `${this.process.capacity} bytes (maxBytesInFlight)`,
      );
    }
    this.#held += n;
  }

  /** Returns bytes that were counted but not kept (a read that failed half-way). */
  give(n: number): void {
    const k = Math.min(n, this.#held);
    this.#held -= k;
    this.process.release(k);
  }

  release(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.give(this.#held);
  }
}
