/**
 * Puts artifacts into a real test registry (test/helpers/registry.ts): blobs and manifests through
 * the /v2 API as cosign would push them; manifests whose blobs a fixture lacks (the registry answers
 * MANIFEST_BLOB_UNKNOWN) are written straight into the registry's filesystem storage, which
 * docker-registry serves as is. Also maintains the OCI referrers tag fallback (`sha256-<hex>`
 * index), as cosign does on registries without the referrers API (distribution 2.8).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Seeder } from './seeder.js';
import { sha256 } from './memory-registry.js';
import type { TestRegistry } from './registry.js';

function mediaTypeOf(bytes: Buffer): string {
  const json = JSON.parse(bytes.toString('utf8')) as { mediaType?: string; manifests?: unknown };
  return (
    json.mediaType ??
    (json.manifests !== undefined
      ? 'application/vnd.oci.image.index.v1+json'
      : 'application/vnd.oci.image.manifest.v1+json')
  );
}

export class RegistrySeeder implements Seeder {
  /** Manifests written to storage because the registry refused them (for test reports). */
  readonly seededDirectly: string[] = [];

  constructor(private readonly registry: TestRegistry) {}

  async putBlob(repo: string, bytes: Buffer): Promise<void> {
    const base = `${this.registry.url}/v2/${repo}/blobs`;
    const digest = sha256(bytes);
    const head = await fetch(`${base}/${digest}`, { method: 'HEAD' });
    if (head.status === 200) return;
    const start = await fetch(`${base}/uploads/`, { method: 'POST' });
    await start.arrayBuffer();
    const location = start.headers.get('location');
    if (start.status !== 202 || location === null) throw new Error(`blob upload start: HTTP ${start.status}`);
    const url = new URL(location, this.registry.url);
    url.searchParams.set('digest', digest);
    const put = await fetch(url, {
      method: 'PUT',
      body: bytes,
      headers: { 'content-type': 'application/octet-stream' },
    });
    await put.arrayBuffer();
    if (put.status !== 201) throw new Error(`blob upload ${digest}: HTTP ${put.status}`);
  }

  async putManifest(repo: string, bytes: Buffer, tag?: string): Promise<string> {
    const digest = sha256(bytes);
    const res = await fetch(`${this.registry.url}/v2/${repo}/manifests/${tag ?? digest}`, {
      method: 'PUT',
      body: bytes,
      headers: { 'content-type': mediaTypeOf(bytes) },
    });
    const text = await res.text();
    if (res.status === 201) {
      if (res.headers.get('docker-content-digest') !== digest)
        throw new Error('registry changed the manifest digest');
      return digest;
    }
    const schema1 = (JSON.parse(bytes.toString('utf8')) as { schemaVersion?: number }).schemaVersion === 1;
    // Fixtures lacking blobs, and schema1 manifests (which distribution 2.8 no longer accepts).
    if ((res.status === 400 && /BLOB_UNKNOWN|MANIFEST_INVALID|MANIFEST_UNVERIFIED/.test(text)) || schema1) {
      await this.seedManifest(repo, bytes, tag);
      return digest;
    }
    throw new Error(`manifest PUT ${repo}:${tag ?? digest}: HTTP ${res.status} ${text}`);
  }

  /** docker-registry filesystem layout: blob data plus the repository's revision and tag links. */
  async seedManifest(repo: string, bytes: Buffer, tag?: string): Promise<void> {
    const digest = sha256(bytes);
    const hex = digest.slice('sha256:'.length);
    const v2 = join(this.registry.storageDir, 'docker', 'registry', 'v2');
    const blobDir = join(v2, 'blobs', 'sha256', hex.slice(0, 2), hex);
    await mkdir(blobDir, { recursive: true });
    await writeFile(join(blobDir, 'data'), bytes);
    const manifests = join(v2, 'repositories', repo, '_manifests');
    const rev = join(manifests, 'revisions', 'sha256', hex);
    await mkdir(rev, { recursive: true });
    await writeFile(join(rev, 'link'), digest);
    if (tag !== undefined) {
      const current = join(manifests, 'tags', tag, 'current');
      const index = join(manifests, 'tags', tag, 'index', 'sha256', hex);
      await mkdir(current, { recursive: true });
      await mkdir(index, { recursive: true });
      await writeFile(join(current, 'link'), digest);
      await writeFile(join(index, 'link'), digest);
    }
    this.seededDirectly.push(`${repo}:${tag ?? digest}`);
  }

  /** Adds a referrer to the `sha256-<hex>` fallback index of `subject` (OCI referrers tag schema). */
  async addReferrer(repo: string, subject: string, referrer: Buffer): Promise<void> {
    const tag = subject.replace(':', '-');
    const res = await fetch(`${this.registry.url}/v2/${repo}/manifests/${tag}`, {
      headers: { accept: 'application/vnd.oci.image.index.v1+json' },
    });
    const existing =
      res.status === 200
        ? ((await res.json()) as { manifests: object[] })
        : (await res.arrayBuffer(), { manifests: [] as object[] });
    const json = JSON.parse(referrer.toString('utf8')) as {
      artifactType?: string;
      annotations?: Record<string, string>;
    };
    existing.manifests.push({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: sha256(referrer),
      size: referrer.byteLength,
      ...(json.artifactType !== undefined ? { artifactType: json.artifactType } : {}),
      ...(json.annotations !== undefined ? { annotations: json.annotations } : {}),
    });
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: existing.manifests,
      }),
    );
    await this.putManifest(repo, index, tag);
  }
}
