/**
 * Bounds an API-server call: @kubernetes/client-node's generated methods take no AbortSignal, so
 * the call is raced against its own timeout and the review's deadline.
 */
export async function withTimeout<T>(call: Promise<T>, timeoutMs: number, signal: AbortSignal): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    return await Promise.race([
      call,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
        onAbort = () => reject(new Error('deadline reached'));
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
  }
}

/** Default bound on one API-server call outside reviews (reports, Events, Lease, lists). */
export const DEFAULT_API_TIMEOUT_MS = 30_000;

const NEVER = new AbortController().signal;

/**
 * The API client with every method call bounded by `timeoutMs`: a call that never answers (a hung
 * connection, an API server that stops responding) rejects instead of stopping whoever awaits it.
 */
export function withTimeouts<T extends object>(api: T, timeoutMs = DEFAULT_API_TIMEOUT_MS): T {
  return new Proxy(api, {
    get(target, key, receiver) {
      const v: unknown = Reflect.get(target, key, receiver);
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        const result: unknown = (v as (...a: unknown[]) => unknown).apply(target, args);
        return result instanceof Promise ? withTimeout(result, timeoutMs, NEVER) : result;
      };
    },
  });
}
