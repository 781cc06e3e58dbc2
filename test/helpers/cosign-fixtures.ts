/**
 * Reads the shared cosign legacy fixtures (../shared/fixtures/cosign-legacy) into registry-shaped
 * pieces: signed image manifests (raw bytes), `.sig` manifests and their layer blobs.
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Descriptor } from '../../src/registry/types.js';
import { fixturePath } from './fixtures.js';
import { sha256 } from './memory-registry.js';
import { ociImageManifest } from './oci-manifest.js';

export interface SigArtifact {
  /** Raw bytes of the `.sig` manifest (OCI image manifest). */
  manifest: Buffer;
  /** Layer blobs (payloads) by digest. */
  blobs: Map<string, Buffer>;
}

export const CONNAISSEUR = (...p: string[]): string =>
  fixturePath('cosign-legacy', 'connaisseur-testimage', ...p);
export const CONTAINERS_IMAGE = (...p: string[]): string =>
  fixturePath('cosign-legacy', 'containers-image', ...p);

/** connaisseur: `.sig` manifest as stored, with the payload blobs it references (config blob absent). */
export function connaisseurSig(digest: string): SigArtifact {
  const manifest = readFileSync(CONNAISSEUR('manifests', `${digest.replace(':', '-')}.sig.json`));
  const json = JSON.parse(manifest.toString('utf8')) as { layers: Descriptor[] };
  const blobs = new Map<string, Buffer>();
  for (const l of json.layers) {
    const path = CONNAISSEUR('blobs', `${l.digest.replace(':', '-')}.json`);
    if (existsSync(path)) blobs.set(l.digest, readFileSync(path));
  }
  return { manifest, blobs };
}

const EMPTY_CONFIG = Buffer.from('{}');

/**
 * containers/image `signature-N` files (`\0sigstore-json\n` + {mimeType, payload, annotations}) as
 * the `.sig` manifest cosign would have pushed: one layer per file, config `{}`.
 */
export function containersImageSig(dir: string): SigArtifact & { config: Buffer } {
  const files = readdirSync(CONTAINERS_IMAGE(dir))
    .filter((f) => f.startsWith('signature-'))
    .sort();
  const blobs = new Map<string, Buffer>();
  const layers = files.map((f) => {
    const raw = readFileSync(CONTAINERS_IMAGE(dir, f));
    const prefix = '\0sigstore-json\n';
    if (raw.subarray(0, prefix.length).toString('latin1') !== prefix) throw new Error(`${f}: unknown format`);
    const doc = JSON.parse(raw.subarray(prefix.length).toString('utf8')) as {
      mimeType: string;
      payload: string;
      annotations: Record<string, string>;
    };
    const payload = Buffer.from(doc.payload, 'base64');
    const digest = sha256(payload);
    blobs.set(digest, payload);
    return { mediaType: doc.mimeType, digest, size: payload.byteLength, annotations: doc.annotations };
  });
  blobs.set(sha256(EMPTY_CONFIG), EMPTY_CONFIG);
  const manifest = ociImageManifest({ digest: sha256(EMPTY_CONFIG), size: 2 }, layers);
  return { manifest, blobs, config: EMPTY_CONFIG };
}

export function readFixture(path: string): Buffer {
  return readFileSync(path);
}

export const PUBLIC_GOOD_ROOT = (): string =>
  fixturePath('trust-roots', 'root-signing', 'targets', 'trusted_root.json');

export function dirOf(path: string): string {
  return join(path, '..');
}
