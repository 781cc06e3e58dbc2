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
 * Modules: policy.ts compiles; claim-sources.ts finds claims; proof.ts proves one; platform.ts tries
 * them per platform; report.ts words the finding; run-context.ts shares registry answers in a run.
 */
import type { BaseSpec, SignatureSpec } from '../../policy/policy.schema.js';
import type { Check, CheckInput, Finding } from '../check.js';
import type { SignatureDeps } from '../signature/index.js';
import { provePlatform } from './platform.js';
import { compileBasePolicy } from './policy.js';
import { toFinding } from './report.js';
import { RunContext } from './run-context.js';

export type { BaseCode, ProofLevel, Reached } from './types.js';
export { checkLayerPrefix, parseMaxAge } from './layers.js';
export { annotationClaim, materialImage, provenanceMaterials } from './claims.js';

/** Compile at policy load (throws ConfigError); `imageSignature` is the same policy's signature section. */
export function compileBaseCheck(
  spec: BaseSpec,
  policyName: string,
  imageSignature: SignatureSpec | undefined,
  deps: SignatureDeps,
): Check {
  const policy = compileBasePolicy(spec, policyName, imageSignature, deps);
  return {
    name: 'base',
    needsRegistry: true,
    async run(input: CheckInput): Promise<Finding> {
      const started = performance.now();
      const run = new RunContext(policy, input);
      const images = await input.resolved.platforms(input.platforms, input.signal);
      const results = await Promise.all(images.map((image) => provePlatform(run, image)));
      return toFinding(policy, results, started);
    },
  };
}
