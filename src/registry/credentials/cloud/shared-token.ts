/**
 * One identity-wide token shared by every registry a source serves: Google's access token and Entra's
 * token are the same for gcr.io and every *-docker.pkg.dev, so N registries cost one call to the
 * metadata server or Entra, not N. Reused for the first half of its life (the token cache refreshes
 * each registry's entry ahead of expiry, and must then get a fresher token than the one it holds).
 */
import type { CloudToken } from './oauth-http.js';

export class SharedToken {
  #current: { token: CloudToken; reuseUntil: number } | undefined;
  #inFlight: Promise<CloudToken> | undefined;

  constructor(
    private readonly fetchToken: (signal: AbortSignal) => Promise<CloudToken>,
    private readonly timeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The shared token, or one fetch (shared by concurrent callers); each caller stops waiting at its signal. */
  get(signal: AbortSignal): Promise<CloudToken> {
    const now = this.now();
    if (this.#current !== undefined && now < this.#current.reuseUntil)
      return Promise.resolve(this.#current.token);
    if (this.#inFlight === undefined) {
      const fetchedAt = now;
      // its own timeout, not the first caller's deadline: others may be waiting for it
      this.#inFlight = this.fetchToken(AbortSignal.timeout(this.timeoutMs))
        .then((token) => {
          this.#current = { token, reuseUntil: fetchedAt + (token.expiresAtMs - fetchedAt) / 2 };
          return token;
        })
        .finally(() => {
          this.#inFlight = undefined;
        });
    }
    return raceSignal(this.#inFlight, signal);
  }
}

function raceSignal<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err as Error);
      },
    );
  });
}
