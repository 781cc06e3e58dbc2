/**
 * Where the claims for one platform come from, in order: (1) base annotations on the platform manifest,
 * then the index; (2) SLSA provenance: cosign attestations verified with the policy's own signature
 * authorities, or BuildKit's in the index when a signature over the index digest verified; (3) without a
 * claim, the allowed entries' candidate tags, resolved now. `notes` explain skipped sources.
 */
import { formatReference } from '../../registry/reference.js';
import type { PlatformImage } from '../../registry/types.js';
import type { SignatureVerdict } from '../signature/types.js';
import type { InTotoStatement } from '../signature/verify.js';
import { hasBuildkitAttestation, readBuildkitProvenance } from './buildkit.js';
import {
  annotationClaim,
  isProvenance,
  materialImage,
  provenanceMaterials,
  type AnnotationClaim,
  type BaseClaim,
} from './claims.js';
import { display } from './report.js';
import type { RunContext } from './run-context.js';

export type FoundClaims = { claims: BaseClaim[] } | { inconsistent: string } | { notAllowed: string[] };

/** Sources 1 and 2. */
export async function imageClaims(
  run: RunContext,
  image: PlatformImage,
  notes: string[],
): Promise<FoundClaims> {
  const { resolved } = run.input;
  const own = annotationClaim(image.manifest.json.annotations, 'platform manifest');
  const index: AnnotationClaim =
    resolved.manifest.kind === 'index'
      ? annotationClaim(resolved.manifest.json.annotations, 'index')
      : { kind: 'none' };
  for (const a of [own, index]) {
    if (a.kind === 'claim') return { claims: [a.claim] };
    if (a.kind === 'inconsistent') return { inconsistent: a.message };
    if (a.note !== undefined) notes.push(a.note);
  }
  return provenanceClaims(run, image, notes);
}

/** Source 2: images named by verified provenance; only the allowed ones are claims. */
async function provenanceClaims(
  run: RunContext,
  image: PlatformImage,
  notes: string[],
): Promise<FoundClaims> {
  const { input, policy } = run;
  const { resolved } = input;
  const images: { claim: BaseClaim; allowed: boolean }[] = [];
  const addStatements = (statements: InTotoStatement[], source: string): void => {
    for (const statement of statements) {
      for (const m of provenanceMaterials(statement)) {
        const found = materialImage(m);
        if (found === undefined) continue;
        if (images.some((x) => x.claim.name === found.name && x.claim.digest === found.digest)) continue;
        images.push({
          claim: { source, reference: found.reference, name: found.name, digest: found.digest },
          allowed: policy.entries.some((e) => e.matches(found.reference)),
        });
      }
    }
  };
  let verdict: SignatureVerdict | undefined;
  if (policy.imageVerifier !== undefined) {
    verdict = await input.facts.signatures(policy.imageVerifier, input.platforms);
    const attestations = await input.facts.attestations(policy.imageVerifier, input.platforms);
    const wanted = new Set([resolved.digest, image.manifest.digest]);
    for (const a of attestations) {
      if (!isProvenance(a.predicateType) || a.statement === undefined || !wanted.has(a.digest)) continue;
      addStatements(
        [a.statement],
        `SLSA provenance (${a.statement.predicateType.slice('https://slsa.dev/'.length)}) signed by "${a.authority}"`,
      );
    }
  }
  if (
    resolved.manifest.kind === 'index' &&
    hasBuildkitAttestation(resolved.manifest.json, image.manifest.digest)
  ) {
    const indexSigned =
      verdict?.passed === true && verdict.signatures.some((s) => s.digest === resolved.digest);
    if (indexSigned) {
      const bk = await readBuildkitProvenance(
        input.registry,
        input.reference,
        resolved.manifest.json,
        image.manifest.digest,
        input.signal,
      );
      notes.push(...bk.problems);
      addStatements(
        bk.statements,
        'BuildKit provenance in the index (unsigned itself; trusted because the index signature verified)',
      );
    } else {
      notes.push(
        policy.imageVerifier === undefined
          ? 'BuildKit provenance in the index ignored: the policy has no signature section to verify the index with'
          : 'BuildKit provenance in the index ignored: no signature over the index digest verified',
      );
    }
  }
  if (policy.imageVerifier === undefined) {
    notes.push('provenance attestations not read: the policy has no signature section to verify them with');
  }
  const allowed = images.filter((x) => x.allowed).map((x) => x.claim);
  if (allowed.length > 0) return { claims: allowed };
  if (images.length > 0) return { notAllowed: images.map((x) => display(x.claim, x.claim.digest)) };
  return { claims: [] };
}

/** Source 3: the candidates that resolve now, in policy order. */
export async function candidateClaims(run: RunContext, notes: string[]): Promise<BaseClaim[]> {
  const out: BaseClaim[] = [];
  for (const e of run.policy.entries) {
    for (const ref of e.candidates) {
      const digest = await run.resolveTag(ref);
      if (digest === undefined) {
        notes.push(`candidate ${formatReference(ref)} cannot be resolved`);
        continue;
      }
      out.push({
        source: `candidate ${formatReference(ref)}`,
        reference: ref,
        name: formatReference(ref),
        digest,
        candidate: true,
      });
    }
  }
  return out;
}
