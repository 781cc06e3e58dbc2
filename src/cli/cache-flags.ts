/**
 * `serve` flags for the engine's caches that hold verified material across reviews: the attestation
 * evidence cache's byte budget (checks/attestations/evidence-cache.ts). Each is optional; an unset
 * flag keeps the cache's default. Bad values are usage errors (exit 2).
 */
import { parseQuantity } from '../checks/quantity.js';
import { ConfigError } from '../errors.js';

export const CACHE_FLAGS = {
  'attestation-cache-bytes': { type: 'string' },
} as const;

/** What the cache flags asked for (only the ones given). */
export interface CacheOptions {
  /** `--attestation-cache-bytes`: verified attestation statements kept (default 16 MiB; 0: none). */
  evidenceCacheBytes?: number;
}

/** A budget beyond this is a typo, not a plan: the chart's V8 heap is 256 MiB. */
export const MAX_EVIDENCE_CACHE_BYTES = 4 * 1024 ** 3;

function usage(flag: string, wanted: string, value: string): ConfigError {
  return new ConfigError(
    'USAGE',
    `--${flag} must be ${wanted} (got "${value}")\nRun "imagegate --help" for usage.`,
  );
}

function evidenceBytes(value: string): number {
  const wanted = 'a size from 0 (keep none) to 4Gi, such as 16Mi (the default) or 64Mi';
  let n: number;
  try {
    n = parseQuantity(value, '--attestation-cache-bytes');
  } catch {
    throw usage('attestation-cache-bytes', wanted, value);
  }
  if (n > MAX_EVIDENCE_CACHE_BYTES) throw usage('attestation-cache-bytes', wanted, value);
  return n;
}

export function parseCacheFlags(values: Record<string, unknown>): CacheOptions {
  const bytes = values['attestation-cache-bytes'] as string | undefined;
  return bytes !== undefined ? { evidenceCacheBytes: evidenceBytes(bytes) } : {};
}
