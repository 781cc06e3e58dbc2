/**
 * Messages and the finding: one platform's result from its attempts (the proven one, else the closest),
 * then one finding for the image, platforms with the same outcome sharing one message.
 */
import { repositoryName } from '../../registry/reference.js';
import type { Finding } from '../check.js';
import type { BaseClaim } from './claims.js';
import type { BasePolicy } from './policy.js';
import type { Attempt, BaseCode, Reached } from './types.js';

const RANK: Record<Reached, number> = { none: 0, claim: 1, signed: 2, layers: 3 };

export interface PlatformResult {
  platform: string;
  digest: string;
  passed: boolean;
  code: BaseCode;
  reached: Reached;
  message: string;
  source?: string;
  base?: string;
  signedAt?: string;
}

/** The platform image a result is about. */
export type PlatformHead = Pick<PlatformResult, 'platform' | 'digest'>;

/** `repository[:tag][@digest]`, for messages. */
export function display(claim: BaseClaim, digest: string | undefined): string {
  const ref = claim.reference;
  const named = `${repositoryName(ref)}${ref.tag !== undefined ? `:${ref.tag}` : ''}`;
  return digest !== undefined ? `${named}@${digest}` : named;
}

/** A platform that failed before any claim could be tried. */
export function toFailedPlatform(
  head: PlatformHead,
  code: BaseCode,
  message: string,
  notes: string[],
): PlatformResult {
  return { ...head, passed: false, code, reached: 'none', message: [message, ...notes].join('; ') };
}

/** The first proven attempt, else the one that got furthest (the first of equals). */
export function toPlatformResult(head: PlatformHead, attempts: Attempt[], notes: string[]): PlatformResult {
  const ok = attempts.find((a) => a.passed);
  const chosen =
    ok ?? attempts.reduce((best, a) => (RANK[a.reached] > RANK[best.reached] ? a : best), attempts[0]!);
  const others =
    ok === undefined && attempts.length > 1
      ? [`${attempts.length} claims tried, none proven; the closest is shown`]
      : [];
  return {
    ...head,
    passed: chosen.passed,
    code: chosen.code,
    reached: chosen.reached,
    message: [...chosen.parts, ...others, ...notes].join('; '),
    source: chosen.claim.source,
    ...(chosen.digest !== undefined
      ? { base: `${repositoryName(chosen.claim.reference)}@${chosen.digest}` }
      : {}),
    ...(chosen.signedAt !== undefined ? { signedAt: chosen.signedAt } : {}),
  };
}

export function toFinding(policy: BasePolicy, results: PlatformResult[], started: number): Finding<'base'> {
  const failed = results.find((r) => !r.passed);
  // Platforms with the same outcome share one message.
  const groups = new Map<string, string[]>();
  for (const r of results) groups.set(r.message, [...(groups.get(r.message) ?? []), r.platform]);
  const message = [...groups.entries()]
    .map(([m, platforms]) => (results.length > 1 ? `${platforms.join(', ')}: ${m}` : m))
    .join(' | ');
  return {
    check: 'base',
    passed: failed === undefined,
    code: failed?.code ?? 'OK',
    message: `proof ${policy.proof}: ${message}`,
    details: {
      proof: policy.proof,
      ...(policy.maxAge !== undefined ? { maxAge: policy.maxAge.text } : {}),
      platforms: results.map((r) => ({
        platform: r.platform,
        digest: r.digest,
        passed: r.passed,
        code: r.code,
        reached: r.reached,
        ...(r.source !== undefined ? { source: r.source } : {}),
        ...(r.base !== undefined ? { base: r.base } : {}),
        ...(r.signedAt !== undefined ? { signedAt: r.signedAt } : {}),
      })),
    },
    durationMs: performance.now() - started,
  };
}
