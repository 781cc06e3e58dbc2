/**
 * OCI image config, manifest and image layout (https://github.com/opencontainers/image-spec), written
 * as canonical bytes: keys in a fixed order, no whitespace, so equal inputs give equal digests.
 */
import { createHash } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Layer } from './layer.js';

export const MEDIA = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  index: 'application/vnd.oci.image.index.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export interface Blob {
  digest: string;
  bytes: Uint8Array;
}

export interface RuntimeConfig {
  User: string;
  Env: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  WorkingDir?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Labels: Record<string, string>;
}

export interface BuiltImage {
  manifest: Descriptor;
  config: Descriptor;
  layers: Layer[];
  /** Every blob of the image: layers, config, manifest. */
  blobs: Blob[];
  diffIds: string[];
}

export const toBytes = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));
const digestOf = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export function isoDate(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace(/\.000Z$/, 'Z');
}

/** Config + manifest over `layers` (in order); annotations go on the manifest. */
export function toImage(
  layers: Layer[],
  runtime: RuntimeConfig,
  created: number,
  annotations: Record<string, string>,
): BuiltImage {
  const date = isoDate(created);
  const diffIds = layers.map((l) => l.diffId);
  const configBytes = toBytes({
    created: date,
    architecture: 'amd64',
    os: 'linux',
    config: runtime,
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: layers.map((l) => ({
      created: date,
      created_by: l.createdBy,
      comment: 'imagegate scripts/image',
    })),
  });
  const config: Descriptor = {
    mediaType: MEDIA.config,
    digest: digestOf(configBytes),
    size: configBytes.length,
  };
  const manifestBytes = toBytes({
    schemaVersion: 2,
    mediaType: MEDIA.manifest,
    config,
    layers: layers.map((l) => ({ mediaType: MEDIA.layer, digest: l.digest, size: l.size })),
    annotations,
  });
  const manifest: Descriptor = {
    mediaType: MEDIA.manifest,
    digest: digestOf(manifestBytes),
    size: manifestBytes.length,
  };
  return {
    manifest,
    config,
    layers,
    diffIds,
    blobs: [
      ...layers.map((l) => ({ digest: l.digest, bytes: l.blob })),
      { digest: config.digest, bytes: configBytes },
      { digest: manifest.digest, bytes: manifestBytes },
    ],
  };
}

/**
 * Replaces `dir` with an OCI layout holding `image` tagged `tag` (index.json's
 * `org.opencontainers.image.ref.name`), written beside it first so readers never see half a layout.
 */
export async function writeLayout(dir: string, image: BuiltImage, tag: string): Promise<void> {
  const tmp = `${dir}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(join(tmp, 'blobs', 'sha256'), { recursive: true });
  for (const b of image.blobs) await writeFile(join(tmp, 'blobs', 'sha256', b.digest.slice(7)), b.bytes);
  await writeFile(join(tmp, 'oci-layout'), toBytes({ imageLayoutVersion: '1.0.0' }));
  const index = {
    schemaVersion: 2,
    mediaType: MEDIA.index,
    manifests: [{ ...image.manifest, annotations: { 'org.opencontainers.image.ref.name': tag } }],
  };
  await writeFile(join(tmp, 'index.json'), toBytes(index));
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
}
