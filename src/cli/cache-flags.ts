/**
 * `serve` flags for the engine's caches that hold verified material across reviews: the attestation
 * evidence cache's byte budget (checks/attestations/evidence-cache.ts) and how long `key.kms` public
 * keys are fresh (kms/cache.ts: verdicts resting on a key are kept no longer). Each is optional; an
 * unset flag keeps the cache's default. Bad values are usage errors (exit 2).
 */
import { parseQuantity } from '../checks/quantity.js';
import { ConfigError } from '../errors.js';
import { parseDurationMs } from '../shared/duration.js';

export const CACHE_FLAGS = {
  'attestation-cache-bytes': { type: 'string' },
  'kms-key-refresh': { type: 'string' },
} as const;

/** What the cache flags asked for (only the ones given). */
export interface CacheOptions {
  /** `--attestation-cache-bytes`: verified attestation statements kept (default 16 MiB; 0: none). */
  evidenceCacheBytes?: number;
  /**
   * `--kms-key-refresh`: how long fetched `key.kms` public keys are fresh (default 1 h), and so how
   * long a version disabled at the key service may still admit.
   */
  kmsKeyRefreshMs?: number;
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

/**
 * At least a minute: keys a signature names but the cache lacks are asked for at most once a minute
 * anyway, and a shorter refresh only multiplies key-service calls. At most a day: a version disabled
 * at the service admits until the refresh, and stale keys already serve outages for a day past it.
 */
export const KMS_KEY_REFRESH_BOUNDS_MS = { min: 60_000, max: 86_400_000 } as const;

function keyRefresh(value: string): number {
  const ms = parseDurationMs(value, { units: ['h', 'm', 's'], compound: true });
  const { min, max } = KMS_KEY_REFRESH_BOUNDS_MS;
  if (ms === undefined || ms < min || ms > max)
    throw usage('kms-key-refresh', 'a duration from 1m to 24h, such as 1h (the default) or 15m', value);
  return ms;
}

export function parseCacheFlags(values: Record<string, unknown>): CacheOptions {
  const bytes = values['attestation-cache-bytes'] as string | undefined;
  const refresh = values['kms-key-refresh'] as string | undefined;
  return {
    ...(bytes !== undefined ? { evidenceCacheBytes: evidenceBytes(bytes) } : {}),
    ...(refresh !== undefined ? { kmsKeyRefreshMs: keyRefresh(refresh) } : {}),
  };
}
