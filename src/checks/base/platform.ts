/** One platform of the image: its claims (else the candidates), tried in order until one is proven. */
import type { PlatformImage } from '../../registry/types.js';
import { candidateClaims, imageClaims } from './claim-sources.js';
import { proveClaim } from './proof.js';
import { toFailedPlatform, toPlatformResult, type PlatformResult } from './report.js';
import type { RunContext } from './run-context.js';
import type { Attempt, BaseCode } from './types.js';

export async function provePlatform(run: RunContext, image: PlatformImage): Promise<PlatformResult> {
  const head = { platform: image.platform, digest: image.manifest.digest };
  const notes: string[] = [];
  const fail = (code: BaseCode, message: string): PlatformResult =>
    toFailedPlatform(head, code, message, notes);
  const found = await imageClaims(run, image, notes);
  if ('inconsistent' in found) return fail('BASE_CLAIM_INCONSISTENT', found.inconsistent);
  if ('notAllowed' in found) {
    return fail(
      'BASE_NOT_ALLOWED',
      `provenance names ${found.notAllowed.join(', ')}, none of them allowed (allowed bases are ${run.policy.allowedList})`,
    );
  }
  let claims = found.claims;
  if (claims.length === 0) {
    if (run.policy.proof === 'claim') {
      return fail(
        'BASE_NOT_CLAIMED',
        'the image makes no base claim (proof level claim does not try candidates)',
      );
    }
    claims = await candidateClaims(run, notes);
    if (claims.length === 0) {
      return fail(
        'BASE_NOT_CLAIMED',
        'the image makes no base claim (no base annotation, no verified provenance naming an image) and the policy lists no candidates that resolve',
      );
    }
  }
  // In order; the first proven claim ends the search.
  const attempts: Attempt[] = [];
  for (const claim of claims) {
    const a = await proveClaim(run, claim, image);
    attempts.push(a);
    if (a.passed) break;
  }
  return toPlatformResult(head, attempts, notes);
}
