/**
 * Stores signature artifacts the way cosign does, through a Seeder (memory or real registry):
 * legacy `sha256-<hex>.sig` manifests and Sigstore bundle referrers (OCI 1.1 `subject`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixturePath } from './fixtures.js';
import type { LegacySignature } from './test-sigstore.js';
import type { Seeder } from './seeder.js';
import { sha256 } from './memory-registry.js';
import { ociImageManifest } from './oci-manifest.js';

const EMPTY = Buffer.from('{}');

export async function pushLegacySignatures(
  s: Seeder,
  repo: string,
  digest: string,
  sigs: LegacySignature[],
  suffix: 'sig' | 'att' = 'sig',
): Promise<string> {
  await s.putBlob(repo, EMPTY);
  const layers = [];
  for (const sig of sigs) {
    await s.putBlob(repo, sig.payload);
    layers.push({
      mediaType:
        suffix === 'sig'
          ? 'application/vnd.dev.cosign.simplesigning.v1+json'
          : 'application/vnd.dsse.envelope.v1+json',
      digest: sha256(sig.payload),
      size: sig.payload.byteLength,
      annotations: sig.annotations,
    });
  }
  const manifest = ociImageManifest({ digest: sha256(EMPTY), size: EMPTY.byteLength }, layers);
  return s.putManifest(repo, manifest, `${digest.replace(':', '-')}.${suffix}`);
}

export async function pushBundleReferrer(
  s: Seeder,
  repo: string,
  subject: { digest: string; mediaType: string; size: number },
  bundle: object,
  predicateType?: string,
): Promise<string> {
  const bytes = Buffer.from(JSON.stringify(bundle));
  await s.putBlob(repo, bytes);
  await s.putBlob(repo, EMPTY);
  const type = 'application/vnd.dev.sigstore.bundle.v0.3+json';
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    artifactType: type,
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(EMPTY), size: EMPTY.byteLength },
    layers: [{ mediaType: type, digest: sha256(bytes), size: bytes.byteLength }],
    subject,
    annotations: {
      'dev.sigstore.bundle.content': 'dsse-envelope',
      ...(predicateType !== undefined ? { 'dev.sigstore.bundle.predicateType': predicateType } : {}),
    },
  };
  const bytes2 = Buffer.from(JSON.stringify(manifest));
  const digest = await s.putManifest(repo, bytes2);
  // Registries without the referrers API (distribution 2.8): maintain the tag fallback index.
  const withIndex = s as Seeder & {
    addReferrer?: (repo: string, subject: string, referrer: Buffer) => Promise<void>;
  };
  if (withIndex.addReferrer !== undefined) await withIndex.addReferrer(repo, subject.digest, bytes2);
  return digest;
}

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/** A bundle referrer whose subject is the OCI image manifest `digest` (its size is not checked). */
export function pushBundleFor(
  s: Seeder,
  repo: string,
  digest: string,
  bundle: object,
  predicateType?: string,
): Promise<string> {
  return pushBundleReferrer(s, repo, { digest, mediaType: OCI_MANIFEST, size: 1 }, bundle, predicateType);
}

/**
 * cosign's OCI attestation (public-good, 2025, shared fixtures) stored as cosign pushed it: its
 * reconstructed empty image (config, manifest tagged `latest`) and the bundle as that image's referrer.
 * Returns the image's digest.
 */
export async function pushCosignOciAttestation(s: Seeder, repo: string): Promise<string> {
  const dir = fixturePath('sigstore-bundles', 'cosign', 'reconstructed-empty-image');
  await s.putBlob(repo, readFileSync(join(dir, 'config.json')));
  const manifest = readFileSync(join(dir, 'manifest.json'));
  const digest = await s.putManifest(repo, manifest, 'latest');
  const bundle = JSON.parse(
    readFileSync(fixturePath('sigstore-bundles', 'cosign', 'oci-attestation.sigstore.json'), 'utf8'),
  ) as object;
  await pushBundleReferrer(s, repo, { digest, mediaType: OCI_MANIFEST, size: manifest.length }, bundle);
  return digest;
}
