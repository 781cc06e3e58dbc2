/**
 * An in-memory RegistryAccess for unit tests of checks: content-addressed manifests and blobs,
 * tags, and referrers computed from `subject` fields (like an OCI 1.1 registry).
 */
import { createHash } from 'node:crypto';
import { RegistryError } from '../../src/errors.js';
import { repositoryName, type ImageReference } from '../../src/registry/reference.js';
import type {
  Descriptor,
  FetchedManifest,
  ImageIndexJson,
  ImageManifestJson,
  RegistryAccess,
  ResolvedImage,
} from '../../src/registry/types.js';

export function sha256(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

interface Stored {
  bytes: Uint8Array;
  mediaType: string;
}

export class MemoryRegistry implements RegistryAccess {
  private readonly manifests = new Map<string, Stored>();
  private readonly tags = new Map<string, string>();
  private readonly blobs = new Map<string, Uint8Array>();

  putBlob(bytes: Uint8Array | string, mediaType = 'application/octet-stream'): Descriptor {
    const b = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
    const digest = sha256(b);
    this.blobs.set(digest, b);
    return { mediaType, digest, size: b.byteLength };
  }

  /** Stores raw manifest bytes (never re-serialised) and returns the digest. */
  putManifest(repo: string, bytes: Uint8Array | string, tag?: string): string {
    const b = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
    const json = JSON.parse(Buffer.from(b).toString('utf8')) as { mediaType?: string; manifests?: unknown };
    const mediaType =
      json.mediaType ??
      (json.manifests !== undefined
        ? 'application/vnd.oci.image.index.v1+json'
        : 'application/vnd.oci.image.manifest.v1+json');
    const digest = sha256(b);
    this.manifests.set(`${repo}@${digest}`, { bytes: b, mediaType });
    if (tag !== undefined) this.tags.set(`${repo}:${tag}`, digest);
    return digest;
  }

  private fetched(repo: string, digest: string): FetchedManifest {
    const s = this.manifests.get(`${repo}@${digest}`);
    if (s === undefined) throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${repo}@${digest} not found`);
    const json = JSON.parse(Buffer.from(s.bytes).toString('utf8')) as ImageManifestJson & ImageIndexJson;
    return Array.isArray(json.manifests)
      ? { kind: 'index', digest, mediaType: s.mediaType, bytes: s.bytes, json }
      : { kind: 'image', digest, mediaType: s.mediaType, bytes: s.bytes, json };
  }

  async getManifest(
    ref: ImageReference,
    tagOrDigest: string,
    _signal: AbortSignal,
  ): Promise<FetchedManifest> {
    const repo = repositoryName(ref);
    const digest = tagOrDigest.includes(':') ? tagOrDigest : this.tags.get(`${repo}:${tagOrDigest}`);
    if (digest === undefined)
      throw new RegistryError('MANIFEST_UNKNOWN', `tag ${repo}:${tagOrDigest} not found`);
    return this.fetched(repo, digest);
  }

  async getBlob(
    _ref: ImageReference,
    d: Descriptor,
    maxBytes: number,
    _signal: AbortSignal,
  ): Promise<Uint8Array> {
    const b = this.blobs.get(d.digest);
    if (b === undefined) throw new RegistryError('BLOB_UNKNOWN', `blob ${d.digest} not found`);
    if (b.byteLength > maxBytes) throw new RegistryError('RESPONSE_TOO_LARGE', `blob ${d.digest} too large`);
    return b;
  }

  async getReferrers(
    ref: ImageReference,
    digest: string,
    artifactType: string | undefined,
    _signal: AbortSignal,
  ): Promise<Descriptor[]> {
    const repo = repositoryName(ref);
    const out: Descriptor[] = [];
    for (const [key, s] of this.manifests) {
      if (!key.startsWith(`${repo}@`)) continue;
      const json = JSON.parse(Buffer.from(s.bytes).toString('utf8')) as ImageManifestJson;
      if (json.subject?.digest !== digest) continue;
      const type = json.artifactType ?? json.config?.mediaType;
      if (artifactType !== undefined && type !== artifactType) continue;
      out.push({
        mediaType: s.mediaType,
        digest: key.slice(repo.length + 1),
        size: s.bytes.byteLength,
        ...(type !== undefined ? { artifactType: type } : {}),
        ...(json.annotations !== undefined ? { annotations: json.annotations } : {}),
      });
    }
    return out;
  }

  async resolve(ref: ImageReference, signal: AbortSignal): Promise<ResolvedImage> {
    const manifest = await this.getManifest(ref, ref.digest ?? ref.tag ?? 'latest', signal);
    return {
      reference: ref,
      digest: manifest.digest,
      manifest,
      platforms: async (selector) => {
        if (manifest.kind !== 'index') return [];
        const wanted = manifest.json.manifests.filter((m) => {
          const p = m.platform;
          if (p === undefined || p.os === 'unknown') return false;
          const name = `${p.os}/${p.architecture}${p.variant !== undefined ? `/${p.variant}` : ''}`;
          return selector.includes('all') || selector.includes(name);
        });
        return wanted.map((m) => {
          const fetched = this.fetched(repositoryName(ref), m.digest) as Extract<
            FetchedManifest,
            { kind: 'image' }
          >;
          return {
            platform: `${m.platform!.os}/${m.platform!.architecture}`,
            manifest: fetched,
            config: {},
            configDigest: fetched.json.config.digest,
          };
        });
      },
    };
  }
}
