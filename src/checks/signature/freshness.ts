/**
 * `signature.maxAge`: image freshness from the newest verified signing time (Rekor integrated time
 * backed by a verified SET, or a verified RFC 3161 timestamp) of the signatures that satisfied the
 * policy.
 */
import { formatAge, parseMaxAge } from '../base/layers.js';
import type { SignatureErrorCode } from '../../errors.js';

/** The part of a SignatureVerdict freshness reads and rewrites. */
interface Verdict {
  passed: boolean;
  code: 'OK' | SignatureErrorCode;
  message: string;
  signatures: readonly { signedAt?: string }[];
}

/** Applied after the (cached) verdict, so the clock is read per review. */
export function checkFreshness<V extends Verdict>(
  verdict: V,
  maxAge: { text: string; ms: number },
  now: number,
): V {
  if (!verdict.passed) return verdict;
  const times = verdict.signatures.map((s) => s.signedAt).filter((t): t is string => t !== undefined);
  if (times.length === 0) {
    return {
      ...verdict,
      passed: false,
      code: 'SIGNATURE_AGE_UNKNOWN',
      message: `${verdict.message}, but no verified signature carries a verified time (no Rekor entry or RFC 3161 timestamp), so maxAge ${maxAge.text} cannot be proven`,
    };
  }
  const newest = times.sort().at(-1)!;
  const age = now - Date.parse(newest);
  if (age > maxAge.ms) {
    return {
      ...verdict,
      passed: false,
      code: 'SIGNATURE_TOO_OLD',
      message: `${verdict.message}, but the newest verified signature was made ${newest} (${formatAge(age)} ago), older than maxAge ${maxAge.text}`,
    };
  }
  return { ...verdict, message: `${verdict.message}, signed ${newest} (within maxAge ${maxAge.text})` };
}

/**
 * Until when (epoch ms) a verdict that passed `maxAge` keeps passing it: its newest verified signing
 * time plus maxAge (a later review sees an older signature).
 */
export function freshUntil(verdict: Verdict, maxAgeMs: number): number {
  const times = verdict.signatures.map((s) => s.signedAt).filter((t): t is string => t !== undefined);
  return times.length === 0 ? Number.NEGATIVE_INFINITY : Math.max(...times.map(Date.parse)) + maxAgeMs;
}

/** `signature.maxAge` compiled: applied per review, and until when a passing verdict stays fresh. */
export interface Freshness {
  /** The verdict under maxAge now (the verdict itself without maxAge). */
  check<V extends Verdict>(verdict: V): V;
  /** Until when (epoch ms) `verdict` keeps passing maxAge (for ever without one). */
  until(verdict: Verdict): number;
}

/** Compiles `signature.maxAge` (throws POLICY_INVALID). */
export function compileFreshness(
  maxAge: string | undefined,
  where: string,
  now: () => number = Date.now,
): Freshness {
  if (maxAge === undefined) return { check: (v) => v, until: () => Number.POSITIVE_INFINITY };
  const limit = { text: maxAge, ms: parseMaxAge(maxAge, where) };
  return { check: (v) => checkFreshness(v, limit, now()), until: (v) => freshUntil(v, limit.ms) };
}
