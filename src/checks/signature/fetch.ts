/**
 * Finds what claims to sign a digest, in both storage formats: legacy cosign tags
 * (`sha256-<hex>.sig`, `.att`) and Sigstore bundle referrers (OCI 1.1 referrers API or its tag
 * fallback, which the registry client handles). Nothing found here is believed until verify.ts has
 * checked it; unreadable items are kept as `malformed` so denials can say what was found.
 */
import type { Bundle } from '@sigstore/bundle';
import { RegistryError, errorMessage } from '../../errors.js';
import type { ImageReference } from '../../registry/reference.js';
import { DEFAULT_LIMITS } from '../../registry/limits.js';
import { mayBeOfType } from '../../registry/referrers.js';
import type { Descriptor, RegistryAccess } from '../../registry/types.js';
import { DSSE_ENVELOPE_MEDIA_TYPE, MAX_PAYLOAD_BYTES, toBundle } from './cosign-legacy.js';
import { toBundleFromJSON } from './bundle-json.js';

export const BUNDLE_ARTIFACT_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const BUNDLE_MEDIA_TYPE =
  /^application\/vnd\.dev\.sigstore\.bundle(\.v0\.[1-3]\+json|\+json;version=0\.[1-3])$/;

/**
 * Bounds the work one digest can cause (a registry may list thousands of referrers): more signature
 * layers in one legacy tag, or more bundle referrers, than this denies the image with
 * BUDGET_SIGNATURES. The registry configuration may set another value (limits.maxSignaturesPerImage).
 */
export const MAX_CANDIDATES = DEFAULT_LIMITS.maxSignaturesPerImage;

function assertWithinBudget(registry: RegistryAccess, count: number, what: string): void {
  const max = registry.limits?.maxSignaturesPerImage ?? MAX_CANDIDATES;
  if (count > max) {
    throw new RegistryError(
      'BUDGET_SIGNATURES',
      `${what}: ${count} signature candidates, more than the ${max} imagegate verifies per image ` +
        `(maxSignaturesPerImage)`,
    );
  }
}

export type Candidate =
  | {
      ok: true;
      /** Where it was found, for messages: `tag sha256-….sig layer 2`, `referrer sha256:…`. */
      source: string;
      format: 'cosign-legacy' | 'sigstore-bundle';
      /** The digest it was stored under: what it must cover. */
      subjectDigest: string;
      bundle: Bundle;
      /** The bytes a message signature signs, when known up front (legacy payload). */
      artifact?: Buffer;
      /** A legacy `.att` layer's DSSE envelope as stored (what cosign 2 timestamps). */
      envelope?: Buffer;
    }
  | {
      ok: false;
      source: string;
      reason: string;
      /** Set when it was not read because it is larger than the limit (its size in bytes). */
      tooLarge?: number;
    };

export interface FetchOptions {
  /** Also read legacy `.att` tags (attestations). */
  attestations: boolean;
  /** Read legacy `.sig` tags (default true; the attestation check reads only `.att` and referrers). */
  signatures?: boolean;
  /** Read bundle referrers (default true; a verdict's legacy attestations are read after its referrers). */
  referrers?: boolean;
  /** Largest payload (legacy layer or bundle blob) read; default MAX_PAYLOAD_BYTES. */
  maxPayloadBytes?: number;
}

/**
 * What one use of a payload blob costs beyond its download, counted in the review's byte budget
 * before it is decoded (a blob fetched once may be listed 32 times, or answered from the cache):
 * its text (JSON.parse input) and, for DSSE envelopes and bundles, the base64-decoded payload the
 * statement is parsed from (three quarters of its size).
 */
export function decodeCost(blobBytes: number, dsse: boolean): number {
  return blobBytes + (dsse ? Math.ceil((blobBytes * 3) / 4) : 0);
}

function account(registry: RegistryAccess, bytes: number, dsse: boolean, source: string): void {
  registry.account?.(decodeCost(bytes, dsse), `decoding ${source}`);
}

function mustPropagate(err: unknown): boolean {
  return err instanceof RegistryError && (err.indeterminate || err.code.startsWith('BUDGET_'));
}

function legacyTag(digest: string, suffix: 'sig' | 'att'): string {
  return `${digest.replace(':', '-')}.${suffix}`;
}

function isMissing(err: unknown): boolean {
  return err instanceof RegistryError && err.code === 'MANIFEST_UNKNOWN';
}

async function fetchLegacy(
  registry: RegistryAccess,
  ref: ImageReference,
  digest: string,
  suffix: 'sig' | 'att',
  maxBytes: number,
  signal: AbortSignal,
): Promise<Candidate[]> {
  const tag = legacyTag(digest, suffix);
  let manifest;
  try {
    // most images have no `.att` (and bundle-signed ones no `.sig`): a 404 answered without an error
    manifest =
      registry.findTag !== undefined
        ? await registry.findTag(ref, tag, signal)
        : await registry.getManifest(ref, tag, signal);
  } catch (err) {
    if (isMissing(err)) return [];
    throw err;
  }
  if (manifest === undefined) return [];
  if (manifest.kind !== 'image')
    return [{ ok: false, source: `tag ${tag}`, reason: 'is an index, not a signature manifest' }];
  assertWithinBudget(registry, manifest.json.layers.length, `tag ${tag}`);
  const out: Candidate[] = [];
  for (const [i, layer] of manifest.json.layers.entries()) {
    const source = `tag ${tag} layer ${i + 1}`;
    if (layer.size > maxBytes) {
      out.push(tooLarge(source, layer.size, maxBytes));
      continue;
    }
    try {
      const blob = await registry.getBlob(ref, layer, maxBytes, signal);
      account(registry, blob.byteLength, layer.mediaType === DSSE_ENVELOPE_MEDIA_TYPE, source);
      const converted = toBundle(
        { mediaType: layer.mediaType, annotations: layer.annotations ?? {}, blob },
        maxBytes,
      );
      out.push({
        ok: true,
        source,
        format: 'cosign-legacy',
        subjectDigest: digest,
        bundle: converted.bundle,
        ...(converted.artifact !== undefined ? { artifact: converted.artifact } : {}),
        ...(converted.envelope !== undefined ? { envelope: converted.envelope } : {}),
      });
    } catch (err) {
      if (mustPropagate(err)) throw err;
      out.push({ ok: false, source, reason: errorMessage(err) });
    }
  }
  return out;
}

function tooLarge(source: string, size: number, max: number): Candidate {
  return { ok: false, source, reason: `payload of ${size} bytes exceeds ${max}`, tooLarge: size };
}

async function fetchReferrers(
  registry: RegistryAccess,
  ref: ImageReference,
  digest: string,
  maxBytes: number,
  signal: AbortSignal,
): Promise<Candidate[]> {
  const descriptors = await registry.getReferrers(ref, digest, BUNDLE_ARTIFACT_TYPE, signal);
  // Listed as a bundle, or listed without a telling type (mayBeOfType): the manifest says.
  const listed = (d: Descriptor) => BUNDLE_MEDIA_TYPE.test(d.artifactType ?? '');
  const bundles = descriptors.filter((x) => listed(x) || mayBeOfType(x.artifactType, BUNDLE_ARTIFACT_TYPE));
  assertWithinBudget(registry, bundles.length, `referrers of ${digest}`);
  const out: Candidate[] = [];
  for (const d of bundles) {
    const source = `referrer ${d.digest}`;
    try {
      const manifest = await registry.getManifest(ref, d.digest, signal);
      const type =
        manifest.json.artifactType ?? (manifest.kind === 'image' ? manifest.json.config.mediaType : '');
      if (!listed(d) && (manifest.kind !== 'image' || !BUNDLE_MEDIA_TYPE.test(type))) continue; // another artifact
      if (manifest.kind !== 'image') throw new Error('is not an image manifest');
      if (manifest.json.subject?.digest !== digest) throw new Error(`its subject is not ${digest}`);
      const layer = manifest.json.layers.find((l) => BUNDLE_MEDIA_TYPE.test(l.mediaType));
      if (layer === undefined) throw new Error('has no Sigstore bundle layer');
      if (layer.size > maxBytes) {
        out.push(tooLarge(source, layer.size, maxBytes));
        continue;
      }
      const blob = await registry.getBlob(ref, layer, maxBytes, signal);
      account(registry, blob.byteLength, true, source);
      const bundle = toBundleFromJSON(JSON.parse(Buffer.from(blob).toString('utf8')));
      out.push({ ok: true, source, format: 'sigstore-bundle', subjectDigest: digest, bundle });
    } catch (err) {
      if (mustPropagate(err)) throw err;
      out.push({ ok: false, source, reason: errorMessage(err) });
    }
  }
  return out;
}

/** Everything stored for `digest` that may be a signature or an attestation. */
export async function fetchCandidates(
  registry: RegistryAccess,
  ref: ImageReference,
  digest: string,
  options: FetchOptions,
  signal: AbortSignal,
): Promise<Candidate[]> {
  const max = options.maxPayloadBytes ?? MAX_PAYLOAD_BYTES;
  const [sig, att, referrers] = await Promise.all([
    options.signatures === false
      ? Promise.resolve([])
      : fetchLegacy(registry, ref, digest, 'sig', max, signal),
    options.attestations ? fetchLegacy(registry, ref, digest, 'att', max, signal) : Promise.resolve([]),
    options.referrers === false ? Promise.resolve([]) : fetchReferrers(registry, ref, digest, max, signal),
  ]);
  const all = [...sig, ...att, ...referrers];
  assertWithinBudget(registry, all.length, `signatures of ${digest}`);
  return all;
}
