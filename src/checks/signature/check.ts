/**
 * The signature check and its policy section (`spec.signature`). The verdict is a fact of the image
 * (facts.ts): the base check, which reads the verified provenance attestations, shares it.
 */
import { formatReference, withDigest } from '../../registry/reference.js';
import { defineCheck, type Check, type CheckInput, type EarlyCheckInput, type Finding } from '../check.js';
import { compileFreshness } from './freshness.js';
import { SignatureSpec, signatureSpecProblems } from './schema.js';
import type { SignatureDeps, SignatureVerdict } from './types.js';
import { compileSignatureVerifier } from './verifier.js';

/** `policy "p" signature`: where the policy's own signature section is compiled (also by base). */
export function imageSignatureWhere(policyName: string): string {
  return `policy "${policyName}" signature`;
}

/** The policy's `signature` section as a Check (compile at policy load; throws ConfigError). */
export function compileSignatureCheck(
  spec: SignatureSpec,
  policyName: string,
  deps: SignatureDeps & { now?: () => number },
): Check<'signature'> {
  const verifier = compileSignatureVerifier(spec, imageSignatureWhere(policyName), deps);
  const freshness = compileFreshness(spec.maxAge, `${imageSignatureWhere(policyName)}.maxAge`, deps.now);
  const now = deps.now ?? Date.now;
  const { cache } = deps;
  /** A passing finding from a cached verdict holds while the cache holds that verdict (and maxAge). */
  const reusableWhile = (raw: SignatureVerdict): (() => boolean) | undefined => {
    if (cache?.holds?.(raw) !== true) return undefined;
    const until = freshness.until(raw);
    return () => now() <= until && cache.holds?.(raw) === true;
  };
  return {
    name: 'signature',
    prefetch(input: EarlyCheckInput): void {
      input.facts.signatures(verifier, input.platforms).catch(() => undefined);
    },
    async run(input: CheckInput): Promise<Finding<'signature'>> {
      const started = performance.now();
      const { resolved } = input;
      // maxAge is applied to the shared (cached) verdict per review: the clock is read each time.
      const raw = await input.facts.signatures(verifier, input.platforms);
      const verdict = freshness.check(raw);
      const image = formatReference(withDigest(input.reference, resolved.digest));
      const finding: Finding<'signature'> = {
        check: 'signature',
        passed: verdict.passed,
        code: verdict.code,
        message: `${image}: ${verdict.message}`,
        details: detailsOf(verdict),
        durationMs: performance.now() - started,
      };
      const reusable = verdict.passed ? reusableWhile(raw) : undefined;
      if (reusable !== undefined) finding.reusable = reusable;
      return finding;
    },
  };
}

/**
 * A finding's details, made once per verdict: a cached verdict answers many reviews, and the same
 * details object lets the audit record's bound (audit/bound.ts) measure their JSON once.
 */
const details = new WeakMap<SignatureVerdict['signatures'], Record<string, unknown>>();
function detailsOf(verdict: SignatureVerdict): Record<string, unknown> {
  // Keyed by the signatures list: maxAge's freshness check copies the verdict, not the list.
  let d = details.get(verdict.signatures);
  if (d === undefined) {
    d = {
      signatures: verdict.signatures.map((s) => ({
        authority: s.authority,
        digest: s.digest,
        source: s.source,
        format: s.format,
        ...s.signer,
        tlogEntries: s.tlogEntries,
        ...(s.signedAt !== undefined ? { signedAt: s.signedAt, timeSource: s.timeSource } : {}),
        ...(s.dockerReference !== undefined ? { dockerReference: s.dockerReference } : {}),
      })),
      attestations: verdict.attestations.map((a) => ({
        authority: a.authority,
        digest: a.digest,
        predicateType: a.predicateType,
      })),
    };
    Object.freeze(d);
    details.set(verdict.signatures, d);
  }
  return d;
}

export const signatureCheck = defineCheck({
  name: 'signature',
  schema: SignatureSpec,
  problems: signatureSpecProblems,
  compile: (spec, ctx, deps) => compileSignatureCheck(spec, ctx.policyName, deps),
});
