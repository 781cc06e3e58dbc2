/**
 * BuildKit's provenance: `docker buildx build --provenance` stores in-toto statements in an
 * attestation manifest listed in the image index (`vnd.docker.reference.type: attestation-manifest`,
 * `vnd.docker.reference.digest: <platform manifest>`). They are not signed by themselves: the caller
 * only reads them when a signature over the index digest verified, which covers them by digest.
 */
import { errorMessage, RegistryError } from '../../errors.js';
import { MAX_CONFIG_BYTES } from '../../registry/media-types.js';
import type { ImageReference } from '../../registry/reference.js';
import type { ImageIndexJson, RegistryAccess } from '../../registry/types.js';
import type { InTotoStatement } from '../signature/verify.js';
import { isProvenance } from './claims.js';

const IN_TOTO_LAYER = 'application/vnd.in-toto+json';
const PREDICATE_ANNOTATION = 'in-toto.io/predicate-type';

export interface BuildkitProvenance {
  statements: InTotoStatement[];
  /** Entries that could not be read or did not name the platform manifest. */
  problems: string[];
}

/** Is there an attestation manifest for `platformDigest` in the index? */
export function hasBuildkitAttestation(index: ImageIndexJson, platformDigest: string): boolean {
  return index.manifests.some(
    (d) =>
      d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' &&
      d.annotations['vnd.docker.reference.digest'] === platformDigest,
  );
}

function covers(s: InTotoStatement, digest: string): boolean {
  const [alg = '', hex] = digest.split(':');
  return Array.isArray(s.subject) && s.subject.some((sub) => sub?.digest?.[alg] === hex);
}

/** SLSA provenance statements BuildKit attached to `platformDigest` (digest-verified reads). */
export async function readBuildkitProvenance(
  registry: RegistryAccess,
  reference: ImageReference,
  index: ImageIndexJson,
  platformDigest: string,
  signal: AbortSignal,
): Promise<BuildkitProvenance> {
  const out: BuildkitProvenance = { statements: [], problems: [] };
  const entries = index.manifests.filter(
    (d) =>
      d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' &&
      d.annotations['vnd.docker.reference.digest'] === platformDigest,
  );
  for (const entry of entries) {
    const manifest = await registry.getManifest(reference, entry.digest, signal);
    if (manifest.kind !== 'image') {
      out.problems.push(`attestation manifest ${entry.digest} is an index`);
      continue;
    }
    for (const layer of manifest.json.layers) {
      if (layer.mediaType !== IN_TOTO_LAYER) continue;
      const declared = layer.annotations?.[PREDICATE_ANNOTATION];
      if (declared !== undefined && !isProvenance(declared)) continue;
      try {
        const bytes = await registry.getBlob(reference, layer, MAX_CONFIG_BYTES, signal);
        // each use is counted: one blob may be listed by every layer of every attestation manifest
        registry.account?.(bytes.byteLength, `BuildKit statement ${layer.digest}`);
        const s = JSON.parse(Buffer.from(bytes).toString('utf8')) as InTotoStatement;
        if (!isProvenance(s.predicateType)) continue;
        if (!covers(s, platformDigest)) {
          out.problems.push(`BuildKit statement ${layer.digest} does not name ${platformDigest}`);
          continue;
        }
        out.statements.push(s);
      } catch (err) {
        if (err instanceof RegistryError && (err.indeterminate || err.code.startsWith('BUDGET_'))) throw err;
        out.problems.push(`BuildKit statement ${layer.digest} is unreadable (${errorMessage(err)})`);
      }
    }
  }
  return out;
}
