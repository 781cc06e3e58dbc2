/**
 * Key-signed images for end-to-end tests and the benchmarks: a tiny OCI image (unique config) pushed
 * to a registry, its cosign legacy `.sig` signature made with a test key, and an ImagePolicy file that
 * requires that key. The documents come from `serve --warm-up`'s builder (src/cli/signed-image-builder.ts),
 * so the warm-up signs images exactly as these tests do.
 */
import {
  imageDocuments,
  keySignatureDocuments,
  OCI_MANIFEST,
  type BuiltDocuments,
} from '../../src/cli/signed-image-builder.js';
import type { Seeder } from './seeder.js';
import { keyPair } from './test-sigstore.js';

export type SigningKey = ReturnType<typeof keyPair>;

export function signingKey(): SigningKey {
  return keyPair('ec-p256');
}

let counter = 0;

/** A pushed image's descriptor (what a referrer's `subject` names). */
export interface PushedImage {
  digest: string;
  mediaType: string;
  size: number;
}

/** Pushes `docs` (blobs, then the manifest under `tag`); returns the digest the registry reports. */
async function push(seeder: Seeder, repo: string, docs: BuiltDocuments, tag: string): Promise<string> {
  for (const blob of docs.blobs) await seeder.putBlob(repo, blob);
  return seeder.putManifest(repo, docs.manifest, tag);
}

/** Pushes a fresh, unsigned image (unique config) to `repo` under `tag`. */
export async function pushImage(seeder: Seeder, repo: string, tag = 'v1'): Promise<PushedImage> {
  counter += 1;
  const image = imageDocuments({
    architecture: 'amd64',
    os: 'linux',
    config: { Labels: { image: `${repo}#${counter}#${process.pid}#${Date.now()}` } },
    rootfs: { type: 'layers', diff_ids: [] },
  });
  const digest = await push(seeder, repo, image, tag);
  return { digest, mediaType: OCI_MANIFEST, size: image.manifest.length };
}

/** Signs `repo@digest` with `key` as `cosign sign --key` does (a legacy `.sig` tag, simple-signing payload). */
export async function signDigest(
  seeder: Seeder,
  host: string,
  repo: string,
  digest: string,
  key: SigningKey,
): Promise<void> {
  const sig = keySignatureDocuments(`${host}/${repo}`, digest, key.sign);
  await push(seeder, repo, sig, sig.tag);
}

/** Pushes a fresh image to `repo` (tag `tag`) and, when `key` is given, signs it; returns the digest. */
export async function pushSignedImage(
  seeder: Seeder,
  host: string,
  repo: string,
  key: SigningKey | undefined,
  tag = 'v1',
): Promise<string> {
  const { digest } = await pushImage(seeder, repo, tag);
  if (key !== undefined) await signDigest(seeder, host, repo, digest, key);
  return digest;
}

/** One enforcing policy over every image: signed by `key`. */
export function keyPolicyYaml(
  key: SigningKey,
  options: { name?: string; mode?: 'enforce' | 'audit'; onError?: 'deny' | 'allow' } = {},
): string {
  const pem = key.publicPem
    .trim()
    .split('\n')
    .map((l) => `          ${l}`)
    .join('\n');
  return [
    'apiVersion: imagegate.dev/v1alpha1',
    'kind: ImagePolicy',
    'metadata:',
    `  name: ${options.name ?? 'signed'}`,
    'spec:',
    `  mode: ${options.mode ?? 'enforce'}`,
    `  onError: ${options.onError ?? 'deny'}`,
    '  images:',
    "    - glob: '**'",
    '  signature:',
    '    authorities:',
    '      - name: release',
    '        key:',
    '          pem: |',
    pem.replace(/^ {10}/gm, '            '),
    '',
  ].join('\n');
}
