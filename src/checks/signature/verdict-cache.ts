/**
 * Verified signature verdicts, shared across reviews: without it every admission of an already
 * verified image re-reads the signature tags and referrers (failures are not cached by the registry
 * client, so the `.att` and referrers lookups go out every time) and re-runs the crypto.
 *
 * Keyed by (authorities, repository, digest, platform digests): a policy whose authorities change gets
 * new keys at once. Only passing verdicts are stored, each for `ttlMs` (a `secretRef` key may rotate)
 * and never past the freshness of a key service's key it rests on (VerifiedItem.keyFreshUntil: a
 * version disabled at the service stops admitting once the key cache's refresh has seen it), at most
 * `maxEntries` of them (least recently used out first). Concurrent verifications of the same
 * key share one run (a burst of identical cold reviews costs the registry one lookup).
 */
import { TtlCache } from '../../shared/cache.js';
import { ReadThroughCache } from '../read-through.js';
import type { SignatureVerdict, VerdictStore } from './types.js';
import { keptFor } from './verify.js';

export interface VerdictCacheOptions {
  /** Default 10,000 entries (well under 2 KB each for key or keyless signatures without attestations). */
  maxEntries?: number;
  /** Default 5 minutes. */
  ttlMs?: number;
  now?: () => number;
}

export const DEFAULT_VERDICT_CACHE_ENTRIES = 10_000;
export const DEFAULT_VERDICT_TTL_MS = 5 * 60_000;

/** An entry-bounded TTL cache (`shared/cache.ts`'s TtlCache, least recently used out first). */
export class VerdictCache
  extends ReadThroughCache<SignatureVerdict, SignatureVerdict>
  implements VerdictStore
{
  readonly maxEntries: number;
  readonly #entries: TtlCache<SignatureVerdict>;
  /** Own-verdict keys of digests that passed only per platform (an index not itself signed). */
  readonly #platformSigned: TtlCache<true>;
  /** The key each stored verdict object was stored under (for holds()). */
  readonly #keys = new WeakMap<SignatureVerdict, string>();
  readonly #now: () => number;

  constructor(options: VerdictCacheOptions = {}) {
    super(options.ttlMs ?? DEFAULT_VERDICT_TTL_MS);
    this.maxEntries = options.maxEntries ?? DEFAULT_VERDICT_CACHE_ENTRIES;
    this.#now = options.now ?? Date.now;
    this.#entries = new TtlCache(this.maxEntries, options.now, { evict: 'use' });
    this.#platformSigned = new TtlCache(this.maxEntries, options.now, { evict: 'use' });
  }

  notePlatformSigned(key: string): void {
    // a hint only (which lookup to skip), not a verdict: it needs no key freshness
    this.#platformSigned.set(key, true, this.ttlMs);
  }

  isPlatformSigned(key: string): boolean {
    return this.#platformSigned.get(key) === true;
  }

  get(key: string): SignatureVerdict | undefined {
    return this.#entries.get(key);
  }

  /**
   * Stores a passing verdict (anything else is ignored), without the per-digest rejection details,
   * until `ttlMs` or the first of its key-service keys' freshness ends (already ended: not stored).
   */
  set(key: string, verdict: SignatureVerdict): void {
    if (!verdict.passed) return;
    const ttl = keptFor([...verdict.signatures, ...verdict.attestations], this.ttlMs, this.#now());
    if (ttl <= 0) return;
    const stored = { ...verdict, digests: [] };
    this.#entries.set(key, stored, ttl);
    this.#keys.set(stored, key);
  }

  holds(verdict: SignatureVerdict): boolean {
    const key = this.#keys.get(verdict);
    return key !== undefined && this.#entries.get(key) === verdict;
  }

  /** A fresh verification's callers get the full verdict, rejection details included. */
  protected resultOf(verdict: SignatureVerdict): SignatureVerdict {
    return verdict;
  }

  get size(): number {
    return this.#entries.size;
  }

  clear(): void {
    this.#entries.clear();
    this.#platformSigned.clear();
  }
}
