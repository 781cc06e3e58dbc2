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

  constructor(options: EvidenceCacheOptions = {}) {
    super(options.ttlMs ?? DEFAULT_EVIDENCE_TTL_MS);
    this.maxBytes = options.maxBytes ?? DEFAULT_EVIDENCE_CACHE_BYTES;
    this.#entries = new ByteLru(this.maxBytes, options.now);
  }

  get(key: string): AttestationEvidence | undefined {
    return this.#entries.get(key);
  }

  /** Stores evidence holding verified statements; an entry over a quarter of the budget is not kept. */
  set(key: string, value: SizedEvidence): void {
    if (!hasVerified(value.evidence)) return;
    this.#entries.set(key, value.evidence, value.bytes, this.ttlMs);
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
