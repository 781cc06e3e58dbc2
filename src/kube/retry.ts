/**
 * Retries an API-server call on throttling (429, honouring `Retry-After`), server errors (5xx) and
 * connection failures, with exponential backoff and jitter. Other answers (4xx) are final.
 */
import { statusCode } from './status-code.js';

export interface RetryOptions {
  /** Tries in all (default 5). */
  attempts?: number;
  /** First backoff (default 200 ms) and its cap (default 10 s; also caps Retry-After). */
  initialMs?: number;
  maxMs?: number;
  signal?: AbortSignal;
  onRetry?: (info: { attempt: number; delayMs: number; code: number | undefined; reason: string }) => void;
  /** Injectable for tests. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

function retryAfterMs(err: unknown): number | undefined {
  const headers = (err as { headers?: Record<string, string> } | null)?.headers;
  const value = headers?.['retry-after'] ?? headers?.['Retry-After'];
  if (value === undefined) return undefined;
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

/** Whether an error is worth another try: throttling, a server error, or no HTTP answer at all. */
export function isRetryable(err: unknown): boolean {
  const code = statusCode(err);
  if (code === undefined) return !(err instanceof Error && err.name === 'AbortError');
  return code === 429 || code >= 500;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export async function withRetry<T>(call: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 5;
  const maxMs = options.maxMs ?? 10_000;
  const wait = options.sleep ?? sleep;
  let backoff = options.initialMs ?? 200;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (attempt >= attempts || !isRetryable(err) || options.signal?.aborted === true) throw err;
      const jittered = Math.round(backoff * (0.8 + Math.random() * 0.4));
      const delayMs = Math.min(retryAfterMs(err) ?? jittered, maxMs);
      options.onRetry?.({
        attempt,
        delayMs,
        code: statusCode(err),
        reason: err instanceof Error ? err.message.slice(0, 200) : String(err),
      });
      await wait(delayMs, options.signal);
      backoff = Math.min(backoff * 2, maxMs);
    }
  }
}
