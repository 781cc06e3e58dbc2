/**
 * The webhook deadline: the API server appends ?timeout=10s and gives up after it. imagegate's
 * budget ends safely before, so an answer (per onError) always arrives in time.
 */
import { setMaxListeners } from 'node:events';
import { parseDurationMs } from '../shared/duration.js';

/** The API server's default webhook timeout, used when a request names none (and by `imagegate review`). */
export const DEFAULT_REVIEW_TIMEOUT_MS = 10_000;
export const MAX_TIMEOUT_MS = 30_000;
const MIN_BUDGET_MS = 100;

/** Parses a Go duration as the API server sends it ("10s", "1.5s", "500ms", "1m"). */
export function parseTimeout(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = parseDurationMs(value, { units: ['ms', 's', 'm'] });
  return ms !== undefined && Number.isFinite(ms) && ms > 0 ? Math.min(ms, MAX_TIMEOUT_MS) : undefined;
}

/** Budget for all registry work: the timeout less a margin of 10% (at least 500 ms) for the answer. */
export function budgetFor(timeoutMs: number): number {
  return Math.max(MIN_BUDGET_MS, timeoutMs - Math.max(500, timeoutMs * 0.1));
}

/**
 * Every registry call of one review listens to its signal, and a pod with 20 images has over a
 * hundred fetches in flight: lift Node's listener warning threshold (10) for that signal.
 */
export function forManyListeners<T extends AbortSignal>(signal: T): T {
  setMaxListeners(1024, signal);
  return signal;
}

/** How often the one deadline timer looks at the reviews in flight (their deadlines' resolution). */
export const DEADLINE_TICK_MS = 20;

interface Watched {
  abortAt: number;
  stopAt: number;
  /** Cleared when the review ends: a finished review holds nothing. */
  onBudget: (() => void) | undefined;
  onStop: (() => void) | undefined;
}

/**
 * Every review's two deadlines (abort its checks at the budget; answer without them at the hard
 * stop) on one interval timer instead of a timer pair, a promise and a race per review, which cost
 * about a tenth of a cached review's CPU. Reviews with the same budget and hard stop are kept in
 * arrival order, so their deadlines come in order too and each tick only looks at the front. A
 * deadline fires up to DEADLINE_TICK_MS late; both are far from the API server's timeout.
 */
export class DeadlineWatch {
  readonly #queues = new Map<string, { items: Watched[]; head: number }>();
  #timer: NodeJS.Timeout | undefined;
  #size = 0;

  constructor(readonly now: () => number = performance.now.bind(performance)) {}

  /**
   * Watches one review, its deadlines counted from `from` (this watch's clock: default now; a
   * review's start, no later than the start of any review watched after it); call the returned
   * function when it has its answer.
   */
  watch(
    budgetMs: number,
    stopMs: number,
    onBudget: () => void,
    onStop: () => void,
    from: number = this.now(),
  ): () => void {
    const key = `${budgetMs} ${stopMs}`;
    let queue = this.#queues.get(key);
    if (queue === undefined) {
      queue = { items: [], head: 0 };
      this.#queues.set(key, queue);
    }
    const start = from;
    const item: Watched = { abortAt: start + budgetMs, stopAt: start + stopMs, onBudget, onStop };
    queue.items.push(item);
    this.#size++;
    if (this.#timer === undefined) {
      // Not unref'd: a review in flight keeps the process alive until its answer (as the per-review
      // timers did); the timer stops at the first tick with nothing left to watch.
      this.#timer = setInterval(() => this.#tick(), DEADLINE_TICK_MS);
    }
    return () => {
      item.onBudget = undefined;
      item.onStop = undefined;
    };
  }

  /** Reviews watched and not yet dropped (finished ones go at the next tick that reaches them). */
  get size(): number {
    return this.#size;
  }

  #tick(): void {
    const now = this.now();
    for (const [key, queue] of this.#queues) {
      const { items } = queue;
      // Budgets that ended: abort those reviews' work (in arrival order: stop at the first not due).
      for (let i = queue.head; i < items.length; i++) {
        const item = items[i]!;
        if (item.abortAt > now) break;
        const fire = item.onBudget;
        item.onBudget = undefined;
        fire?.();
      }
      // Drop finished reviews and those past their hard stop from the front.
      while (queue.head < items.length) {
        const item = items[queue.head]!;
        if (item.onStop !== undefined && item.stopAt > now) break;
        const stop = item.onStop;
        item.onStop = undefined;
        stop?.();
        queue.head++;
        this.#size--;
      }
      if (queue.head === items.length) this.#queues.delete(key);
      else if (queue.head > 1024 && queue.head * 2 > items.length) {
        queue.items = items.slice(queue.head);
        queue.head = 0;
      }
    }
    if (this.#size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
}
