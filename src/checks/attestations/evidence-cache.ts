/**
 * Verified attestation evidence, shared across reviews like the signature VerdictCache: keyed by
 * (required attestation's authorities and predicate type, repository, digest, platform digests), so
 * a policy change gets new keys at once. Only evidence with verified statements is stored (a failed
 * lookup is retried next time), each entry for `ttlMs`, within a byte budget counted from the signed
 * payload sizes (SBOMs can be large). Concurrent verifications of one key share one run. Conditions
 * and maxAge are evaluated on the cached statements per review: only verified content is stored.
 */
import { ByteLru } from '../../shared/cache.js';
import { ReadThroughCache } from '../read-through.js';
import { keptFor } from '../signature/verify.js';
import type { AttestationEvidence } from './types.js';

export interface EvidenceCacheOptions {
  /** Default 16 MiB of signed payloads (docs/security.md, "Memory": the chart's 512 MiB counts it). */
  maxBytes?: number;
  /** Default 5 minutes. */
  ttlMs?: number;
  now?: () => number;
}

export const DEFAULT_EVIDENCE_CACHE_BYTES = 16 * 1024 * 1024;
export const DEFAULT_EVIDENCE_TTL_MS = 5 * 60_000;

export interface SizedEvidence {
  evidence: AttestationEvidence;
  /** Signed payload bytes the evidence holds (for the budget). */
  bytes: number;
}

function hasVerified(e: AttestationEvidence): boolean {
  return e.top.verified.length > 0 || e.platforms.some((p) => p.evidence.verified.length > 0);
}

/** A byte-bounded LRU with a TTL per entry (`shared/cache.ts`'s ByteLru) that keeps only verified evidence. */
export class EvidenceCache extends ReadThroughCache<SizedEvidence, AttestationEvidence> {
  readonly maxBytes: number;
  readonly #entries: ByteLru<AttestationEvidence>;
  readonly #now: () => number;

  constructor(options: EvidenceCacheOptions = {}) {
    super(options.ttlMs ?? DEFAULT_EVIDENCE_TTL_MS);
    this.maxBytes = options.maxBytes ?? DEFAULT_EVIDENCE_CACHE_BYTES;
    this.#now = options.now ?? Date.now;
    this.#entries = new ByteLru(this.maxBytes, options.now);
  }

  get(key: string): AttestationEvidence | undefined {
    return this.#entries.get(key);
  }

  /**
   * Stores evidence holding verified statements, until `ttlMs` or the first of its key-service keys'
   * freshness ends (as VerdictCache); an entry over a quarter of the budget is not kept.
   */
  set(key: string, value: SizedEvidence): void {
    const e = value.evidence;
    if (!hasVerified(e)) return;
    const items = [e.top, ...e.platforms.map((p) => p.evidence)].flatMap((d) => d.verified);
    const ttl = keptFor(items, this.ttlMs, this.#now());
    if (ttl <= 0) return;
    this.#entries.set(key, e, value.bytes, ttl);
  }

  protected resultOf(value: SizedEvidence): AttestationEvidence {
    return value.evidence;
  }

  get size(): number {
    return this.#entries.size;
  }

  get bytes(): number {
    return this.#entries.bytes;
  }

  clear(): void {
    this.#entries.clear();
  }
}
