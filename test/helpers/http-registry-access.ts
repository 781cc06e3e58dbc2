/**
 * A minimal anonymous RegistryAccess over plain HTTP for the loopback test registry, so the
 * signature suite runs through a real registry before the product client (branch `registry`) is
 * merged. Digests are verified; referrers use the API, then the `sha256-<hex>` tag fallback.
 * Replace with the product client once it is on main.
 */
import { RegistryError } from '../../src/errors.js';
import type { ImageReference } from '../../src/registry/reference.js';
import type {
  Descriptor,
  FetchedManifest,
  ImageIndexJson,
  ImageManifestJson,
  RegistryAccess,
  ResolvedImage,
} from '../../src/registry/types.js';
import { sha256 } from './memory-registry.js';

const ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
].join(', ');

export class HttpRegistryAccess implements RegistryAccess {
  private base(ref: ImageReference): string {
    return `http://${ref.registry}/v2/${ref.repository}`;
  }

  async getManifest(ref: ImageReference, tagOrDigest: string, signal: AbortSignal): Promise<FetchedManifest> {
    const res = await fetch(`${this.base(ref)}/manifests/${tagOrDigest}`, {
      headers: { accept: ACCEPT },
      signal,
    });
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (res.status === 404) throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${tagOrDigest} not found`);
    if (res.status !== 200)
      throw new RegistryError('REGISTRY_ERROR', `HTTP ${res.status}`, { indeterminate: true });
    const digest = sha256(bytes);
    if (tagOrDigest.startsWith('sha256:') && digest !== tagOrDigest)
      throw new RegistryError('DIGEST_MISMATCH', 'manifest digest mismatch');
    const mediaType = res.headers.get('content-type') ?? '';
    const json = JSON.parse(Buffer.from(bytes).toString('utf8')) as ImageManifestJson & ImageIndexJson;
    return Array.isArray(json.manifests)
      ? { kind: 'index', digest, mediaType, bytes, json }
      : { kind: 'image', digest, mediaType, bytes, json };
  }

  async getBlob(
    ref: ImageReference,
    d: Descriptor,
    maxBytes: number,
    signal: AbortSignal,
  ): Promise<Uint8Array> {
    if (d.size > maxBytes) throw new RegistryError('RESPONSE_TOO_LARGE', `blob ${d.digest} too large`);
    const res = await fetch(`${this.base(ref)}/blobs/${d.digest}`, { signal });
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (res.status === 404) throw new RegistryError('BLOB_UNKNOWN', `blob ${d.digest} not found`);
    if (res.status !== 200)
      throw new RegistryError('REGISTRY_ERROR', `HTTP ${res.status}`, { indeterminate: true });
    if (sha256(bytes) !== d.digest)
      throw new RegistryError('DIGEST_MISMATCH', `blob ${d.digest} digest mismatch`);
    return bytes;
  }

  async getReferrers(
    ref: ImageReference,
    digest: string,
    artifactType: string | undefined,
    signal: AbortSignal,
  ): Promise<Descriptor[]> {
    let index: ImageIndexJson | undefined;
    const res = await fetch(`${this.base(ref)}/referrers/${digest}`, { headers: { accept: ACCEPT }, signal });
    if (res.status === 200) index = (await res.json()) as ImageIndexJson;
    else {
      await res.arrayBuffer();
      try {
        const m = await this.getManifest(ref, digest.replace(':', '-'), signal);
        if (m.kind === 'index') index = m.json;
      } catch (err) {
        if (!(err instanceof RegistryError && err.code === 'MANIFEST_UNKNOWN')) throw err;
      }
    }
    return (index?.manifests ?? []).filter(
      (m) => artifactType === undefined || m.artifactType === artifactType,
    );
  }

  async resolve(ref: ImageReference, signal: AbortSignal): Promise<ResolvedImage> {
    const manifest = await this.getManifest(ref, ref.digest ?? ref.tag ?? 'latest', signal);
    return { reference: ref, digest: manifest.digest, manifest, platforms: async () => [] };
  }
}
