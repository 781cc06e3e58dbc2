/** Durations, counts and request shapes every section of bench/run.ts shares. */
import { podReviewBody } from './common.js';

export const SCALE = Number(process.env.BENCH_SCALE ?? '1');
export const SECONDS = Math.max(1, 4 * SCALE);
export const TRIALS = Math.max(2, Math.round(5 * SCALE));
export const CONNECTIONS = 16;
/** Load before the first measured run of each server (not scaled down: JIT tiering takes this long). */
export const WARMUP_SECONDS = 6;
/** Alternating baseline/imagegate load runs per figure (the median pair is reported). */
export const PAIRS = Math.max(1, Number(process.env.BENCH_PAIRS ?? '3'));

/** The element whose key is the median (the lower middle one for an even count). */
export function medianBy<T>(items: readonly T[], key: (item: T) => number): T {
  const sorted = [...items].sort((a, b) => key(a) - key(b));
  const mid = sorted[Math.floor((sorted.length - 1) / 2)];
  if (mid === undefined) throw new Error('medianBy: no items');
  return mid;
}
/**
 * BENCH_ONLY=cached,cachedtag,cachedcpu,audit,cold,coldcpu,real,memory,admission runs some sections (the
 * burst runs with cold; admission starts the local control plane of scripts/test-cluster.sh).
 */
export const ONLY = new Set(
  (process.env.BENCH_ONLY ?? 'cached,cachedtag,cachedcpu,audit,cold,coldcpu,real,memory,admission').split(
    ',',
  ),
);
/** Per image, digest-pinned, key-signed (legacy .sig), on a registry without the referrers API. */
export const ROUND_TRIPS_PER_IMAGE = 2; // .sig tag → its payload blob (the other lookups can run beside them)
/**
 * Requests per image once the process knows the registry has no referrers API (every measured pod: the
 * warm-up image taught it): manifest, .sig tag, payload blob, referrers tag. No `.att` tag: nothing in a
 * signature-only policy reads attestations.
 */
export const REQUESTS_PER_IMAGE = 4;
/** The first image a process checks on that registry: + the referrers API request (404 there). */
export const REQUESTS_FIRST_IMAGE = 5;

let uidCounter = 0;
/** A pod review of these images, padded to targetBytes, with a fresh uid. */
export const review = (images: string[], targetBytes = 0, uid = `bench-${++uidCounter}`): string =>
  podReviewBody(images, targetBytes, uid);

export function withUid(body: string, uid: string): string {
  return body.replace(/"uid":"[^"]*"/, `"uid":"${uid}"`);
}
