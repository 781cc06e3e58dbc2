/**
 * One cache for every cloud token source: tokens per (provider, registry, identity), refreshed ahead
 * of expiry in the background, one fetch shared by concurrent reviews, the last token served while a
 * refresh fails (never past its own expiry: bounded), and an exponential backoff after failures so a
 * broken identity does not flood a metadata server. Callers wait at most until their signal aborts.
 */
import { RegistryError, errorMessage } from '../../../errors.js';
import { SingleFlight } from '../../cache.js';
import type { Credential } from '../provider.js';
import type { CloudProviderStatus, CloudToken, CloudTokenHooks, CloudTokenSource } from './source.js';

export interface CloudTokenCacheOptions {
  /** Start a background refresh this long before a token expires; default 5 min (at most half its life). */
  refreshAheadMs?: number;
  /** One fetch may take this long, whoever waits for it; default 10 s. */
  fetchTimeoutMs?: number;
  /** Backoff after the first failure, doubling up to maxBackoffMs; defaults 1 s and 60 s. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Entries kept (registries × identities), least recently used out first; default 1024. */
  maxEntries?: number;
  hooks?: CloudTokenHooks;
  now?: () => number;
}

interface Entry {
  source: CloudTokenSource<unknown>;
  registry: string;
  token: CloudToken<unknown> | undefined;
  fetchedAt: number;
  failures: number;
  /** No fetch starts before this (epoch ms): the backoff. */
  retryAt: number;
  lastError: string | undefined;
  /** The last failure itself, for the source's remedy. */
  lastCause: unknown;
  /** Order of the last failure and success among all fetches (clocks can tie). */
  lastErrorSeq: number;
  lastSuccessSeq: number;
}

/** A token is not handed to a review in its last 30 s (or last tenth of its life): the pull must finish. */
function usableUntil(token: CloudToken<unknown>, fetchedAt: number): number {
  return token.expiresAt - Math.min(30_000, Math.max(0, token.expiresAt - fetchedAt) / 10);
}

const MAX_CAUSE_CHARS = 300;

export class CloudTokenCache {
  readonly #entries = new Map<string, Entry>();
  readonly #flights = new SingleFlight();
  #seq = 0;
  readonly #now: () => number;
  readonly #refreshAheadMs: number;
  readonly #fetchTimeoutMs: number;
  readonly #minBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #maxEntries: number;
  readonly #hooks: CloudTokenHooks;

  constructor(options: CloudTokenCacheOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#refreshAheadMs = options.refreshAheadMs ?? 5 * 60_000;
    this.#fetchTimeoutMs = options.fetchTimeoutMs ?? 10_000;
    this.#minBackoffMs = options.minBackoffMs ?? 1000;
    this.#maxBackoffMs = options.maxBackoffMs ?? 60_000;
    this.#maxEntries = options.maxEntries ?? 1024;
    this.#hooks = options.hooks ?? {};
  }

  /**
   * The credential `source` gives for `registry`, from the cache when usable. Rejects with
   * CREDENTIALS_UNAVAILABLE (indeterminate) naming the provider, the identity and the fix.
   */
  async get<C = Credential>(source: CloudTokenSource<C>, registry: string, signal?: AbortSignal): Promise<C> {
    const entry = this.#entry(source, registry);
    const now = this.#now();
    const token = entry.token;
    if (token !== undefined && now < usableUntil(token, entry.fetchedAt)) {
      const life = Math.max(0, token.expiresAt - entry.fetchedAt);
      const refreshAt = token.expiresAt - Math.min(this.#refreshAheadMs, life / 2);
      if (now >= refreshAt && now >= entry.retryAt) {
        // ahead of expiry, in the background: this review goes on with the current token
        this.#fetch(entry, new AbortController().signal).catch(() => undefined);
      }
      return token.credential as C; // the entry's source is `source`: its key says so
    }
    if (now < entry.retryAt) {
      const wait = Math.ceil((entry.retryAt - now) / 1000);
      const cause = `${entry.lastError ?? 'failed'} (next attempt in ${wait} s)`;
      throw this.#unavailable(entry, cause, entry.lastCause);
    }
    try {
      const fresh = await this.#fetch(entry, signal ?? AbortSignal.timeout(this.#fetchTimeoutMs));
      return fresh.credential as C;
    } catch (err) {
      if (signal?.aborted === true) {
        throw this.#unavailable(entry, 'the review deadline was reached while it was fetching', err);
      }
      throw this.#unavailable(entry, entry.lastError ?? errorMessage(err), err);
    }
  }

  /** Per provider: usable tokens, the oldest one's age and the last failure newer than any success. */
  status(sources: readonly CloudTokenSource<unknown>[]): CloudProviderStatus[] {
    const now = this.#now();
    return sources.map((source) => {
      let tokens = 0;
      let oldest: number | undefined;
      let lastSuccess = 0;
      let failure: Entry | undefined;
      for (const e of this.#entries.values()) {
        if (e.source !== source) continue;
        lastSuccess = Math.max(lastSuccess, e.lastSuccessSeq);
        if (e.lastError !== undefined && (failure === undefined || e.lastErrorSeq > failure.lastErrorSeq))
          failure = e;
        if (e.token !== undefined && now < usableUntil(e.token, e.fetchedAt)) {
          tokens++;
          oldest = Math.min(oldest ?? e.fetchedAt, e.fetchedAt);
        }
      }
      const failing = failure !== undefined && failure.lastErrorSeq > lastSuccess ? failure : undefined;
      return {
        provider: source.name,
        identity: source.identity(),
        tokens,
        oldestTokenAgeSeconds: oldest === undefined ? undefined : (now - oldest) / 1000,
        lastError: failing !== undefined ? `${failing.registry}: ${failing.lastError ?? ''}` : undefined,
        fix: failing !== undefined ? source.remedy(failing.lastCause) : undefined,
      };
    });
  }

  #entry(source: CloudTokenSource<unknown>, registry: string): Entry {
    const key = `${source.name}\n${registry}\n${source.identity()}`;
    let entry = this.#entries.get(key);
    if (entry !== undefined) {
      this.#entries.delete(key); // most recently used last
    } else {
      entry = {
        source,
        registry,
        token: undefined,
        fetchedAt: 0,
        failures: 0,
        retryAt: 0,
        lastError: undefined,
        lastCause: undefined,
        lastErrorSeq: 0,
        lastSuccessSeq: 0,
      };
    }
    this.#entries.set(key, entry);
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= this.#maxEntries) break;
      this.#entries.delete(oldest);
    }
    return entry;
  }

  /** One fetch per entry at a time; it ends when its own timeout fires or every waiter has given up. */
  #fetch(entry: Entry, signal: AbortSignal): Promise<CloudToken<unknown>> {
    const key = `${entry.source.name}\n${entry.registry}\n${entry.source.identity()}`;
    return this.#flights.do(key, signal, async (shared) => {
      const timeout = AbortSignal.timeout(this.#fetchTimeoutMs);
      try {
        const token = await entry.source.fetch(entry.registry, AbortSignal.any([shared, timeout]));
        const now = this.#now();
        if (!(token.expiresAt > now)) throw new Error('the token it returned has already expired');
        Object.assign(entry, { token, fetchedAt: now, failures: 0, retryAt: 0 });
        entry.lastSuccessSeq = ++this.#seq;
        entry.lastError = undefined;
        this.#hooks.onFetch?.(entry.source.name, 'ok');
        return token;
      } catch (err) {
        // every waiter gave up (their deadlines): not the provider's failure, no backoff
        if (shared.aborted && !timeout.aborted) throw err;
        const now = this.#now();
        entry.failures++;
        const backoff = Math.min(this.#maxBackoffMs, this.#minBackoffMs * 2 ** (entry.failures - 1));
        entry.retryAt = now + backoff;
        entry.lastError = timeout.aborted
          ? `no answer within ${this.#fetchTimeoutMs / 1000} s`
          : errorMessage(err).slice(0, MAX_CAUSE_CHARS);
        entry.lastCause = err;
        entry.lastErrorSeq = ++this.#seq;
        this.#hooks.onFetch?.(entry.source.name, 'error');
        throw err;
      }
    });
  }

  #unavailable(entry: Entry, cause: string, err?: unknown): RegistryError {
    const { source, registry } = entry;
    return new RegistryError(
      'CREDENTIALS_UNAVAILABLE',
      `${source.name} could not get a token for ${registry} as ${source.identity()}: ` +
        `${cause.slice(0, MAX_CAUSE_CHARS)}. Fix: ${source.remedy(err)}`,
      { indeterminate: true, ...(err !== undefined ? { cause: err } : {}) },
    );
  }
}
