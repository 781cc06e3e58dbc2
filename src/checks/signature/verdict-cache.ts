/**
 * Verified signature verdicts, shared across reviews: without it every admission of an already
 * verified image re-reads the signature tags and referrers (failures are not cached by the registry
 * client, so the `.att` and referrers lookups go out every time) and re-runs the crypto.
 *
 * Keyed by (authorities, repository, digest, platform digests): a policy whose authorities change gets
 * new keys at once. Only passing verdicts are stored, each for `ttlMs` (a `secretRef` key may rotate),
 * at most `maxEntries` of them (least recently used out first). Concurrent verifications of the same
 * key share one run (a burst of identical cold reviews costs the registry one lookup).
 */
import { SingleFlight } from '../../registry/cache.js';
import { TtlCache } from '../../shared/cache.js';
import type { SignatureVerdict, VerdictStore } from './types.js';

export interface VerdictCacheOptions {
  /** Default 10,000 entries (well under 2 KB each for key or keyless signatures without attestations). */
  maxEntries?: number;
  /** Default 5 minutes. */
  ttlMs?: number;
  now?: () => number;
}

export const DEFAULT_VERDICT_CACHE_ENTRIES = 10_000;
export const DEFAULT_VERDICT_TTL_MS = 5 * 60_000;

export class VerdictCache implements VerdictStore {
  readonly maxEntries: number;
  readonly ttlMs: number;
  readonly #entries: TtlCache<SignatureVerdict>;
  readonly #flights = new SingleFlight();
  /** Own-verdict keys of digests that passed only per platform (an index not itself signed). */
  readonly #platformSigned: TtlCache<true>;

  constructor(options: VerdictCacheOptions = {}) {
    this.maxEntries = options.maxEntries ?? DEFAULT_VERDICT_CACHE_ENTRIES;
    this.ttlMs = options.ttlMs ?? DEFAULT_VERDICT_TTL_MS;
    this.#entries = new TtlCache(this.maxEntries, options.now, { evict: 'use' });
    this.#platformSigned = new TtlCache(this.maxEntries, options.now, { evict: 'use' });
  }

  notePlatformSigned(key: string): void {
    this.#platformSigned.set(key, true, this.ttlMs);
  }

  isPlatformSigned(key: string): boolean {
    return this.#platformSigned.get(key) === true;
  }

  get(key: string): SignatureVerdict | undefined {
    return this.#entries.get(key);
  }

  /** Stores a passing verdict (anything else is ignored), without the per-digest rejection details. */
  set(key: string, verdict: SignatureVerdict): void {
    if (!verdict.passed) return;
    this.#entries.set(key, { ...verdict, digests: [] }, this.ttlMs);
  }

  /** The cached verdict, or `verify`'s, shared with concurrent callers of the same key. */
  async verify(
    key: string,
    signal: AbortSignal,
    verify: (signal: AbortSignal) => Promise<SignatureVerdict>,
  ): Promise<SignatureVerdict> {
    const hit = this.get(key);
    if (hit !== undefined) return hit;
    return this.#flights.do(key, signal, async (s) => {
      const verdict = await verify(s);
      this.set(key, verdict);
      return verdict;
    });
  }

  get size(): number {
    return this.#entries.size;
  }

  clear(): void {
    this.#entries.clear();
    this.#platformSigned.clear();
  }
}
