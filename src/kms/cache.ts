/**
 * Public keys per key reference: fetched once for concurrent reviews, refreshed after `refreshMs`,
 * and during an outage the last good keys keep serving for up to `staleMs` (a key service that is
 * down must not turn every signed image indeterminate; a key removed from it stops verifying once the
 * bound passes). Each key carries `freshUntil` (fetch time + `refreshMs`): the verdict caches keep
 * nothing resting on it past then, so a version disabled at the service stops admitting within
 * `refreshMs` of being disabled (stale keys served in an outage are past it: their verdicts are not
 * kept, each review verifies again). A failed fetch with nothing to fall back on is remembered for `failureMs`, so a storm
 * of reviews during an outage asks the service once, not once each.
 */
import type { KmsKeyReference, PublicKeyVersion } from '../checks/signature/index.js';
import { SignatureError, errorMessage } from '../errors.js';
import { untilAborted } from './abortable.js';

export type FetchKeys = (ref: KmsKeyReference, signal: AbortSignal) => Promise<PublicKeyVersion[]>;

export interface KmsCacheOptions {
  /** Default one hour. */
  refreshMs?: number;
  /** How long past `refreshMs` the last good keys serve while fetches fail; default 24 hours. */
  staleMs?: number;
  /** How long a cold failure is answered from memory; default 10 s. */
  failureMs?: number;
  /** One shared fetch (all of a provider's calls) gives up after this; default 15 s. */
  fetchTimeoutMs?: number;
  /** `refresh` (no cached key verified a signature) fetches at most this often per key; default 60 s. */
  minRefreshMs?: number;
  /** Key references held at most (policies name few); default 1024. */
  maxEntries?: number;
  now?: () => number;
  /** Called for each fetch that failed (the server logs it, without secrets). */
  onFetchError?: (uri: string, err: SignatureError, servingStale: boolean) => void;
  /**
   * Called once per fetch attempt and per stale answer (metrics), by the service's URI scheme
   * (`awskms`, `gcpkms`, `azurekms`, `hashivault`: a bounded label).
   */
  onFetch?: (service: KmsService, result: 'ok' | 'error' | 'stale') => void;
}

export type KmsService = 'awskms' | 'gcpkms' | 'azurekms' | 'hashivault';

const SERVICE: Record<KmsKeyReference['provider'], KmsService> = {
  aws: 'awskms',
  gcp: 'gcpkms',
  azure: 'azurekms',
  vault: 'hashivault',
};

/** Per key service, for the key-age gauge: keys held, and how old the oldest good answer served is. */
export interface KmsServiceStatus {
  service: KmsService;
  keys: number;
  oldestKeyAgeSeconds: number;
}

interface Entry {
  service: KmsService;
  good?: { versions: readonly PublicKeyVersion[]; at: number };
  /** When a fetch last started (refresh's rate limit). */
  attemptAt?: number;
  failure?: { err: SignatureError; at: number };
  inflight?: Promise<readonly PublicKeyVersion[]>;
}

export interface KmsCacheCounters {
  fetches: number;
  failures: number;
  staleServed: number;
}

function asCoded(ref: KmsKeyReference, err: unknown): SignatureError {
  if (err instanceof SignatureError) return err;
  return new SignatureError('KMS_UNAVAILABLE', `cannot fetch ${ref.uri}: ${errorMessage(err)}`, {
    indeterminate: true,
    cause: err,
  });
}

export class KmsKeyCache {
  readonly #entries = new Map<string, Entry>();
  readonly counters: KmsCacheCounters = { fetches: 0, failures: 0, staleServed: 0 };
  readonly #refreshMs: number;
  readonly #staleMs: number;
  readonly #failureMs: number;
  readonly #fetchTimeoutMs: number;
  readonly #maxEntries: number;
  readonly #minRefreshMs: number;
  readonly #now: () => number;

  constructor(
    private readonly fetchKeys: FetchKeys,
    private readonly options: KmsCacheOptions = {},
  ) {
    this.#refreshMs = options.refreshMs ?? 3_600_000;
    this.#staleMs = options.staleMs ?? 86_400_000;
    this.#failureMs = options.failureMs ?? 10_000;
    this.#fetchTimeoutMs = options.fetchTimeoutMs ?? 15_000;
    this.#maxEntries = options.maxEntries ?? 1024;
    this.#minRefreshMs = options.minRefreshMs ?? 60_000;
    this.#now = options.now ?? Date.now;
  }

  async keys(ref: KmsKeyReference, signal: AbortSignal): Promise<readonly PublicKeyVersion[]> {
    const entry = this.#entry(ref);
    const now = this.#now();
    const good = entry.good;
    if (good !== undefined && now - good.at < this.#refreshMs) return good.versions;
    const usable = good !== undefined && now - good.at < this.#refreshMs + this.#staleMs ? good : undefined;
    if (entry.failure !== undefined && now - entry.failure.at < this.#failureMs) {
      if (usable !== undefined && entry.failure.err.code === 'KMS_UNAVAILABLE')
        return this.#stale(entry, usable);
      throw entry.failure.err;
    }
    entry.inflight ??= this.#fetch(ref, entry);
    try {
      return await untilAborted(entry.inflight, signal);
    } catch (err) {
      const coded = asCoded(ref, err);
      // invalid key material is a finding; only unavailability falls back to the last good keys
      if (usable !== undefined && coded.code === 'KMS_UNAVAILABLE') return this.#stale(entry, usable);
      throw coded;
    }
  }

  /**
   * Fetches again unless a fetch started within `minRefreshMs` (signatures by unknown keys, which
   * anyone can push, cost the service one call per key per interval at most). Falls back to the
   * cached keys when the service does not answer.
   */
  async refresh(ref: KmsKeyReference, signal: AbortSignal): Promise<readonly PublicKeyVersion[]> {
    const entry = this.#entry(ref);
    const recent = entry.attemptAt !== undefined && this.#now() - entry.attemptAt < this.#minRefreshMs;
    if (recent && entry.inflight === undefined) return this.keys(ref, signal);
    entry.inflight ??= this.#fetch(ref, entry);
    try {
      return await untilAborted(entry.inflight, signal);
    } catch (err) {
      const coded = asCoded(ref, err);
      if (entry.good !== undefined && coded.code === 'KMS_UNAVAILABLE') return this.#stale(entry, entry.good);
      throw coded;
    }
  }

  #stale(entry: Entry, good: NonNullable<Entry['good']>): readonly PublicKeyVersion[] {
    this.counters.staleServed++;
    this.options.onFetch?.(entry.service, 'stale');
    return good.versions;
  }

  /** Per key service with keys held: how many, and the age of the oldest answer (past 1 h: stale). */
  status(): KmsServiceStatus[] {
    const now = this.#now();
    const by = new Map<KmsService, KmsServiceStatus>();
    for (const e of this.#entries.values()) {
      if (e.good === undefined) continue;
      const age = (now - e.good.at) / 1000;
      const s = by.get(e.service);
      if (s === undefined) by.set(e.service, { service: e.service, keys: 1, oldestKeyAgeSeconds: age });
      else {
        s.keys++;
        s.oldestKeyAgeSeconds = Math.max(s.oldestKeyAgeSeconds, age);
      }
    }
    return [...by.values()];
  }

  #entry(ref: KmsKeyReference): Entry {
    const uri = ref.uri;
    let entry = this.#entries.get(uri);
    if (entry === undefined) {
      if (this.#entries.size >= this.#maxEntries) {
        const oldest = this.#entries.keys().next().value;
        if (oldest !== undefined) this.#entries.delete(oldest);
      }
      entry = { service: SERVICE[ref.provider] };
      this.#entries.set(uri, entry);
    }
    return entry;
  }

  async #fetch(ref: KmsKeyReference, entry: Entry): Promise<readonly PublicKeyVersion[]> {
    this.counters.fetches++;
    entry.attemptAt = this.#now();
    try {
      const fetched = await this.fetchKeys(ref, AbortSignal.timeout(this.#fetchTimeoutMs));
      const at = this.#now();
      // verdicts resting on these keys are not reused past the moment this cache would ask again
      const versions = fetched.map((v) => ({ ...v, freshUntil: at + this.#refreshMs }));
      entry.good = { versions, at };
      delete entry.failure;
      this.options.onFetch?.(entry.service, 'ok');
      return versions;
    } catch (err) {
      this.counters.failures++;
      this.options.onFetch?.(entry.service, 'error');
      const coded = asCoded(ref, err);
      entry.failure = { err: coded, at: this.#now() };
      const stale = entry.good !== undefined && this.#now() - entry.good.at < this.#refreshMs + this.#staleMs;
      this.options.onFetchError?.(ref.uri, coded, stale && coded.code === 'KMS_UNAVAILABLE');
      throw coded;
    } finally {
      delete entry.inflight;
    }
  }
}
