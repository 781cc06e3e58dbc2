/**
 * The base check: proves, per checked platform, that an image is built on an allowed base.
 *
 * Claims come, in this order, from (1) `org.opencontainers.image.base.*` annotations on the platform
 * manifest, then the index; (2) SLSA provenance: cosign attestations verified with the policy's own
 * `signature` authorities, or BuildKit attestation manifests when a signature over the index digest
 * verified; (3) without a claim, the allowed entries' `candidates` tags, resolved now.
 *
 * Proof levels: `claim` (the name matches an allowed glob), `signed` (the claimed digest exists in
 * that repository and verifies against the entry's authorities, within `maxAge`), `layers` (the
 * base's diff_ids are an exact prefix of the image's). Candidates always need the layer proof.
 *
 * Modules: check.ts is the check and its policy section (schema.ts); policy.ts compiles; claim-sources.ts finds claims; proof.ts proves one; platform.ts tries
 * them per platform; report.ts words the finding; run-context.ts shares registry answers in a run.
 */
import type { Check, CheckInput, EarlyCheckInput, Finding } from '../check.js';
import { defineCheck } from '../check.js';
import { signatureSpecProblems, type SignatureSpec } from '../signature/schema.js';
import type { SignatureDeps } from '../signature/types.js';
import { provePlatform } from './platform.js';
import { compileBasePolicy } from './policy.js';
import { toFinding } from './report.js';
import { RunContext } from './run-context.js';
import { BaseSpec } from './schema.js';

/** Compile at policy load (throws ConfigError); `imageSignature` is the same policy's signature section. */
export function compileBaseCheck(
  spec: BaseSpec,
  policyName: string,
  imageSignature: SignatureSpec | undefined,
  deps: SignatureDeps,
): Check<'base'> {
  const policy = compileBasePolicy(spec, policyName, imageSignature, deps);
  return {
    name: 'base',
    prefetch(input: EarlyCheckInput): void {
      // Provenance may be read (an image without base annotations): its `.att` lookup, and the
      // signatures it rests on, start beside the manifest fetch of a pinned digest.
      if (policy.imageVerifier === undefined) return;
      input.facts.attestations(policy.imageVerifier, input.platforms).catch(() => undefined);
    },
    async run(input: CheckInput): Promise<Finding<'base'>> {
      const started = performance.now();
      const run = new RunContext(policy, input);
      const images = await input.resolved.platforms(input.platforms, input.signal);
      const results = await Promise.all(images.map((image) => provePlatform(run, image)));
      return toFinding(policy, results, started);
    },
  };
}

export const baseCheck = defineCheck({
  name: 'base',
  schema: BaseSpec,
  problems: (spec, where) =>
    spec.allowed.flatMap((entry, i) =>
      entry.signature !== undefined
        ? [
            ...signatureSpecProblems(entry.signature, `${where}.allowed[${i}].signature`),
            ...(entry.signature.maxAge !== undefined
              ? [`${where}.allowed[${i}].signature.maxAge: not used for bases; set ${where}.maxAge`]
              : []),
          ]
        : [],
    ),
  compile: (spec, ctx, deps) =>
    compileBaseCheck(
      spec,
      ctx.policyName,
      // The signature section, validated against its own schema before any section compiles.
      ctx.sections['signature'] as SignatureSpec | undefined,
      deps,
    ),
});
