/**
 * A shared fetch outlives any one caller: it runs on its own timeout, and each caller waits for it
 * only as long as its own signal (the review's deadline) allows.
 */

/** Settles like `shared`, or rejects with `signal`'s reason when the caller stops waiting first. */
export function untilAborted<T>(shared: Promise<T>, signal: AbortSignal): Promise<T> {
  // the shared fetch's failure is its other waiters' (or the cache's) to see, never unhandled
  shared.catch(() => undefined);
  if (signal.aborted) return Promise.reject(new Error('the review deadline was reached'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new Error('the review deadline was reached'));
    signal.addEventListener('abort', onAbort, { once: true });
    shared.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
