/**
 * Local OCI image layouts (`oci:PATH[:TAG|@DIGEST]`) behind the same RegistryAccess interface, so
 * `imagegate check` can judge an image in CI before it is pushed. Every blob read is digest-checked.
 */
import { open, readFile } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import { RegistryError, ImageReferenceError, errorMessage } from '../errors.js';
import { computeDigest, isDigest, verifyDigest, verifySize } from './digest.js';
import { MAX_MANIFEST_BYTES, INDEX_TYPES, OCI_INDEX } from './media-types.js';
import type { ImageReference } from './reference.js';
import { parseManifest } from './content.js';
import { DEFAULT_LIMITS } from './limits.js';
import { toResolvedImage } from './resolve.js';
import type { Descriptor, FetchedManifest, ImageIndexJson, RegistryAccess, ResolvedImage } from './types.js';

/**
 * The layout's own index.json lists every image the operator saved there (not registry content), so
 * its entries are not capped; the manifests it points at are, like a registry's.
 */
const LAYOUT_INDEX_BOUNDS = { ...DEFAULT_LIMITS, maxManifestsPerIndex: Number.POSITIVE_INFINITY };

export const LAYOUT_PREFIX = 'oci:';
/** The `registry` field of references into a layout. */
export const LAYOUT_REGISTRY = 'oci-layout';
const REF_NAME = 'org.opencontainers.image.ref.name';
/**
 * `cosign save` layouts name their entries by kind, not by tag: the image (or index), its `.sig`
 * manifest and its `.att` manifest (cosign pkg/oci/layout). Read as the `sha256-<hex>.sig|.att`
 * tags of the saved image's digest, as in a registry; what they hold is verified against the digest.
 */
const COSIGN_KIND = 'kind';
const COSIGN_IMAGE_KINDS = ['dev.cosignproject.cosign/image', 'dev.cosignproject.cosign/imageIndex'];
const COSIGN_ATTACHED_KINDS: Record<string, string> = {
  sig: 'dev.cosignproject.cosign/sigs',
  att: 'dev.cosignproject.cosign/atts',
};

export function isLayoutReference(input: string): boolean {
  return input.startsWith(LAYOUT_PREFIX);
}

/** `oci:./out:v1` → { path: './out', tag: 'v1' }; `oci:/x@sha256:…` → digest. */
export function parseLayoutReference(input: string): { path: string; reference: ImageReference } {
  if (!isLayoutReference(input))
    throw new ImageReferenceError('INVALID_REFERENCE', `"${input}" does not start with oci:`);
  let rest = input.slice(LAYOUT_PREFIX.length);
  let digest: string | undefined;
  let tag: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(digest))
      throw new ImageReferenceError('INVALID_REFERENCE', `"${input}": "${digest}" is not a digest`);
  } else {
    const colon = rest.lastIndexOf(':');
    if (colon > rest.lastIndexOf('/') && colon >= 0) {
      tag = rest.slice(colon + 1);
      rest = rest.slice(0, colon);
      if (tag === '') throw new ImageReferenceError('INVALID_REFERENCE', `"${input}": empty tag`);
    }
  }
  if (rest === '') throw new ImageReferenceError('INVALID_REFERENCE', `"${input}": empty layout path`);
  return {
    path: rest,
    reference: {
      registry: LAYOUT_REGISTRY,
      repository: rest,
      ...(tag !== undefined ? { tag } : {}),
      ...(digest !== undefined ? { digest } : {}),
      original: input,
    },
  };
}

export function createLayoutAccess(layoutPath: string): RegistryAccess {
  const root = resolvePath(layoutPath);
  let indexPromise: Promise<Extract<FetchedManifest, { kind: 'index' }>> | undefined;

  /** index.json itself; its digest is that of its bytes (apko writes a multi-arch image this way). */
  const layoutIndex = (): Promise<Extract<FetchedManifest, { kind: 'index' }>> => {
    indexPromise ??= (async () => {
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(await readFile(join(root, 'index.json')));
      } catch (err) {
        throw new RegistryError('MANIFEST_UNKNOWN', `${root} is not an OCI layout: ${errorMessage(err)}`, {
          cause: err,
        });
      }
      const m = parseManifest(
        bytes,
        computeDigest(bytes),
        OCI_INDEX,
        `${root}/index.json`,
        LAYOUT_INDEX_BOUNDS,
      );
      if (m.kind !== 'index')
        throw new RegistryError('UNSUPPORTED_MEDIA_TYPE', `${root}/index.json is not an index`);
      return m;
    })();
    indexPromise.catch(() => (indexPromise = undefined));
    return indexPromise;
  };
  const index = async (): Promise<ImageIndexJson> => (await layoutIndex()).json;

  const readBlob = async (
    digest: string,
    expectedSize: number | undefined,
    maxBytes: number,
    signal: AbortSignal,
  ) => {
    signal.throwIfAborted();
    if (!isDigest(digest))
      throw new RegistryError('DIGEST_MISMATCH', `"${digest}" is not a supported digest`);
    const [alg, hex] = digest.split(':') as [string, string];
    const file = join(root, 'blobs', alg, hex);
    const what = `${root} blob ${digest}`;
    let handle;
    try {
      handle = await open(file, 'r');
    } catch (err) {
      throw new RegistryError('BLOB_UNKNOWN', `${what}: ${errorMessage(err)}`, { cause: err });
    }
    try {
      const { size } = await handle.stat();
      if (size > maxBytes)
        throw new RegistryError('RESPONSE_TOO_LARGE', `${what}: ${size} bytes is over ${maxBytes}`);
      const bytes = new Uint8Array(await handle.readFile());
      verifySize(bytes, expectedSize, what);
      verifyDigest(bytes, digest, what);
      return bytes;
    } finally {
      await handle.close();
    }
  };

  const manifestByDigest = async (digest: string, signal: AbortSignal): Promise<FetchedManifest> => {
    const bytes = await readBlob(digest, undefined, MAX_MANIFEST_BYTES, signal);
    const entry = (await index()).manifests.find((d) => d.digest === digest);
    return parseManifest(bytes, digest, entry?.mediaType, `${root}@${digest}`, DEFAULT_LIMITS);
  };

  /** The image a `cosign save` layout holds, if it is one. */
  const cosignImage = (entries: readonly Descriptor[]): Descriptor | undefined => {
    const images = entries.filter((d) => COSIGN_IMAGE_KINDS.includes(d.annotations?.[COSIGN_KIND] ?? ''));
    return images.length === 1 ? images[0] : undefined;
  };

  /** `sha256-<hex>.sig|.att` of the saved image in a `cosign save` layout. */
  const cosignAttached = (entries: readonly Descriptor[], tag: string): Descriptor | undefined => {
    const m = /^([a-z0-9]+)-([a-f0-9]+)\.(sig|att)$/.exec(tag);
    if (m === null || cosignImage(entries)?.digest !== `${m[1]}:${m[2]}`) return undefined;
    const kind = COSIGN_ATTACHED_KINDS[m[3]!];
    return entries.find((d) => d.annotations?.[COSIGN_KIND] === kind);
  };

  const findTag = async (tag: string | undefined): Promise<Descriptor> => {
    const entries = (await index()).manifests;
    if (tag === undefined) {
      if (entries.length === 1) return entries[0]!;
      const saved = cosignImage(entries);
      if (saved !== undefined) return saved;
      throw new RegistryError(
        'MANIFEST_UNKNOWN',
        `${root} holds ${entries.length} images: give :TAG or @DIGEST`,
      );
    }
    const found = entries.find((d) => d.annotations?.[REF_NAME] === tag) ?? cosignAttached(entries, tag);
    if (found === undefined) throw new RegistryError('MANIFEST_UNKNOWN', `${root}: no image tagged ${tag}`);
    return found;
  };

  const access: RegistryAccess = {
    async resolve(ref, signal): Promise<ResolvedImage> {
      if (ref.digest === undefined && ref.tag === undefined) {
        const top = await layoutIndex();
        const entries = top.json.manifests;
        // a layout whose index.json lists the platforms of one image (no tags): index.json is the image
        if (
          entries.length > 1 &&
          entries.every((d) => d.platform !== undefined && !d.annotations?.[REF_NAME])
        ) {
          return toResolvedImage(ref, top, access);
        }
      }
      const digest = ref.digest ?? (await findTag(ref.tag)).digest;
      return toResolvedImage(ref, await manifestByDigest(digest, signal), access);
    },
    async getManifest(_ref, tagOrDigest, signal) {
      const digest = isDigest(tagOrDigest) ? tagOrDigest : (await findTag(tagOrDigest)).digest;
      return manifestByDigest(digest, signal);
    },
    getBlob(_ref, d, maxBytes, signal) {
      if (d.size > maxBytes) {
        return Promise.reject(
          new RegistryError('RESPONSE_TOO_LARGE', `blob ${d.digest}: ${d.size} bytes is over ${maxBytes}`),
        );
      }
      return readBlob(d.digest, d.size, maxBytes, signal);
    },
    async getReferrers(_ref, digest, artifactType, signal) {
      const out: Descriptor[] = [];
      const entries = (await index()).manifests;
      for (const d of entries.slice(0, 512)) {
        if (INDEX_TYPES.includes(d.mediaType)) continue;
        const m = await manifestByDigest(d.digest, signal);
        if (m.json.subject?.digest === digest) {
          out.push({
            mediaType: m.mediaType,
            digest: d.digest,
            size: d.size,
            ...(m.json.artifactType ? { artifactType: m.json.artifactType } : {}),
          });
        }
      }
      const fallback = entries.find((d) => d.annotations?.[REF_NAME] === digest.replace(':', '-'));
      if (fallback !== undefined) {
        const m = await manifestByDigest(fallback.digest, signal);
        if (m.kind === 'index')
          for (const d of m.json.manifests) if (!out.some((o) => o.digest === d.digest)) out.push(d);
      }
      return artifactType === undefined ? out : out.filter((d) => d.artifactType === artifactType);
    },
  };
  return access;
}
