/** The single 429 retry: wait out Retry-After only when it ends before the review's deadline. */
import { RegistryError } from '../errors.js';
import { abortError } from './cache.js';
import { discard, header, type HttpResponse } from './http.js';

function retryAfterMs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(abortError(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Consumes a 429 response and sleeps for its Retry-After, or throws RATE_LIMITED when there is none
 * or it would not leave 50 ms before the deadline (without one: a request timeout from now).
 */
export async function waitOutRateLimit(
  res: HttpResponse,
  deadline: number | undefined,
  timeoutMs: number,
  what: string,
  signal: AbortSignal,
): Promise<void> {
  const wait = retryAfterMs(header(res, 'retry-after'));
  await discard(res);
  const remaining = (deadline ?? Date.now() + timeoutMs) - Date.now();
  if (wait === undefined || wait >= remaining - 50) {
    throw new RegistryError(
      'RATE_LIMITED',
      `${what}: rate limited (HTTP 429${wait !== undefined ? `, Retry-After ${Math.ceil(wait / 1000)} s exceeds the deadline` : ''})`,
      { indeterminate: true },
    );
  }
  await sleep(wait, signal);
}
