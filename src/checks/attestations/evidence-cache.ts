/**
 * Verified attestation evidence, shared across reviews like the signature VerdictCache: keyed by
 * (required attestation's authorities and predicate type, repository, digest, platform digests), so
 * a policy change gets new keys at once. Only evidence with verified statements is stored (a failed
 * lookup is retried next time), each entry for `ttlMs`, within a byte budget counted from the signed
 * payload sizes (SBOMs can be large). Concurrent verifications of one key share one run. Conditions
 * and maxAge are evaluated on the cached statements per review: only verified content is stored.
 */
import { SingleFlight } from '../../registry/cache.js';
import type { AttestationEvidence } from './types.js';

export interface EvidenceCacheOptions {
  /** Default 64 MiB of signed payloads. */
  maxBytes?: number;
  /** Default 5 minutes. */
  ttlMs?: number;
  now?: () => number;
}

export const DEFAULT_EVIDENCE_CACHE_BYTES = 64 * 1024 * 1024;
export const DEFAULT_EVIDENCE_TTL_MS = 5 * 60_000;

export interface SizedEvidence {
  evidence: AttestationEvidence;
  /** Signed payload bytes the evidence holds (for the budget). */
  bytes: number;
}

function hasVerified(e: AttestationEvidence): boolean {
  return e.top.verified.length > 0 || e.platforms.some((p) => p.evidence.verified.length > 0);
}

export class EvidenceCache {
  readonly maxBytes: number;
  readonly ttlMs: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, SizedEvidence & { expires: number }>();
  readonly #flights = new SingleFlight();
  #bytes = 0;

  constructor(options: EvidenceCacheOptions = {}) {
    this.maxBytes = options.maxBytes ?? DEFAULT_EVIDENCE_CACHE_BYTES;
    this.ttlMs = options.ttlMs ?? DEFAULT_EVIDENCE_TTL_MS;
    this.#now = options.now ?? Date.now;
  }

  get(key: string): AttestationEvidence | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#remove(key);
    if (entry.expires <= this.#now()) return undefined;
    this.#insert(key, entry);
    return entry.evidence;
  }

  /** Stores evidence holding verified statements; an entry over a quarter of the budget is not kept. */
  set(key: string, value: SizedEvidence): void {
    if (!hasVerified(value.evidence) || this.ttlMs <= 0 || value.bytes > this.maxBytes / 4) return;
    this.#remove(key);
    this.#insert(key, { ...value, expires: this.#now() + this.ttlMs });
    for (const k of this.#entries.keys()) {
      if (this.#bytes <= this.maxBytes) break;
      this.#remove(k);
    }
  }

  async verify(
    key: string,
    signal: AbortSignal,
    verify: (signal: AbortSignal) => Promise<SizedEvidence>,
  ): Promise<AttestationEvidence> {
    const hit = this.get(key);
    if (hit !== undefined) return hit;
    return this.#flights.do(key, signal, async (s) => {
      const value = await verify(s);
      this.set(key, value);
      return value.evidence;
    });
  }

  #insert(key: string, entry: SizedEvidence & { expires: number }): void {
    this.#entries.set(key, entry);
    this.#bytes += entry.bytes;
  }

  #remove(key: string): void {
    const old = this.#entries.get(key);
    if (old === undefined) return;
    this.#entries.delete(key);
    this.#bytes -= old.bytes;
  }

  get size(): number {
    return this.#entries.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }
}
