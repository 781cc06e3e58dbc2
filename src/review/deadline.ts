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
