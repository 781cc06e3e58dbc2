/**
 * Manifest parsing and the ResolvedImage implementation shared by registry and OCI-layout access:
 * an index resolves to per-platform image manifests and their configs, all digest-verified.
 */
import { RegistryError } from '../errors.js';
import type { ImageReference } from './reference.js';
import { withDigest } from './reference.js';
import { DEFAULT_LIMITS, overBudget, type Limits } from './limits.js';
import { DOCKER_MANIFEST, INDEX_TYPES, MAX_CONFIG_BYTES, OCI_INDEX, OCI_MANIFEST } from './media-types.js';
import type {
  Descriptor,
  FetchedManifest,
  ImageConfigJson,
  ImageIndexJson,
  ImageManifestJson,
  Platform,
  PlatformImage,
  RegistryAccess,
  ResolvedImage,
} from './types.js';
import { isRecord } from '../shared/guards.js';

const IMAGE_MANIFEST_TYPES: readonly string[] = [OCI_MANIFEST, DOCKER_MANIFEST];

export const DEFAULT_PLATFORMS: readonly string[] = ['linux/amd64'];

function isDescriptor(v: unknown): v is Descriptor {
  return (
    isRecord(v) &&
    typeof v.mediaType === 'string' &&
    typeof v.digest === 'string' &&
    typeof v.size === 'number' &&
    Number.isSafeInteger(v.size) &&
    v.size >= 0
  );
}

/** Parses verified manifest bytes into an image manifest or an index; rejects anything else. */
export function parseManifest(
  bytes: Uint8Array,
  digest: string,
  contentType: string | undefined,
  what: string,
): FetchedManifest {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new RegistryError('UNSUPPORTED_MEDIA_TYPE', `${what}: manifest is not JSON`, { cause: err });
  }
  if (!isRecord(json) || json.schemaVersion !== 2) {
    throw new RegistryError('UNSUPPORTED_MEDIA_TYPE', `${what}: not a schemaVersion 2 manifest`);
  }
  const declared = typeof json.mediaType === 'string' ? json.mediaType : undefined;
  const isIndex = Array.isArray(json.manifests);
  assertShapeMatchesType(json, isIndex, declared, contentType, what);
  if (isIndex) {
    if (!(json.manifests as unknown[]).every(isDescriptor)) {
      throw new RegistryError('UNSUPPORTED_MEDIA_TYPE', `${what}: index has an invalid descriptor`);
    }
    const mediaType =
      declared ?? (contentType && INDEX_TYPES.includes(contentType) ? contentType : OCI_INDEX);
    // shape checked above: schemaVersion 2 and a descriptor list
    return { kind: 'index', digest, mediaType, bytes, json: json as unknown as ImageIndexJson };
  }
  if (isDescriptor(json.config) && Array.isArray(json.layers) && json.layers.every(isDescriptor)) {
    const mediaType = declared ?? (contentType === DOCKER_MANIFEST ? DOCKER_MANIFEST : OCI_MANIFEST);
    // shape checked above: schemaVersion 2, a config descriptor and layer descriptors
    return { kind: 'image', digest, mediaType, bytes, json: json as unknown as ImageManifestJson };
  }
  throw new RegistryError(
    'UNSUPPORTED_MEDIA_TYPE',
    `${what}: neither an image manifest nor an index (media type ${declared ?? contentType ?? 'unknown'})`,
  );
}

/**
 * A document must be what its media type says (the CVE-2021-41190 class): an index carries no
 * `config`/`layers`, an image manifest no `manifests`, and neither its `mediaType` field nor the
 * Content-Type (when it is a manifest type) may name the other kind.
 */
function assertShapeMatchesType(
  json: Record<string, unknown>,
  isIndex: boolean,
  declared: string | undefined,
  contentType: string | undefined,
  what: string,
): void {
  const mismatch = (why: string): RegistryError =>
    new RegistryError('MANIFEST_MEDIA_TYPE_MISMATCH', `${what}: ${why}; refusing an ambiguous document`);
  if (isIndex && (json.layers !== undefined || json.config !== undefined)) {
    throw mismatch('the document has both `manifests` (an index) and `config`/`layers` (an image manifest)');
  }
  const shape = isIndex ? 'an index' : 'an image manifest';
  for (const [source, type] of [
    ['its mediaType field', declared],
    ['the Content-Type', contentType],
  ] as const) {
    if (type === undefined) continue;
    const saysIndex = INDEX_TYPES.includes(type);
    const saysImage = IMAGE_MANIFEST_TYPES.includes(type);
    if ((isIndex && saysImage) || (!isIndex && saysIndex)) {
      throw mismatch(`${source} says ${type} but the content is ${shape}`);
    }
  }
}

/** The platforms of an index for a message: distinct values, at most 10 named. */
function listPlatforms(entries: readonly Descriptor[]): string {
  const names = [...new Set(entries.map((d) => formatPlatform(d.platform!).slice(0, 64)))];
  if (names.length === 0) return 'none';
  const more = names.length > 10 ? ` and ${names.length - 10} more` : '';
  return names.slice(0, 10).join(', ') + more;
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/** Attestation and other non-runnable index entries (BuildKit attestations, unknown/unknown). */
export function isAttestation(d: Descriptor): boolean {
  const type = d.annotations?.['vnd.docker.reference.type'];
  if (type === 'attestation-manifest') return true;
  return d.platform?.os === 'unknown' && d.platform.architecture === 'unknown';
}

/** `linux/arm64` matches `linux/arm64/v8`; `linux/arm/v7` needs variant v7. */
export function matchesPlatform(selector: string, p: Platform): boolean {
  const [os, arch, variant] = selector.split('/');
  if (os !== p.os || arch !== p.architecture) return false;
  return variant === undefined || variant === p.variant;
}

function configPlatform(config: ImageConfigJson): string {
  if (typeof config.os !== 'string' || typeof config.architecture !== 'string') return 'unknown/unknown';
  return formatPlatform({
    os: config.os,
    architecture: config.architecture,
    ...(config.variant ? { variant: config.variant } : {}),
  });
}

export function parseConfig(bytes: Uint8Array, what: string): ImageConfigJson {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new RegistryError('UNSUPPORTED_MEDIA_TYPE', `${what}: config is not JSON`, { cause: err });
  }
  if (!isRecord(json)) throw new RegistryError('UNSUPPORTED_MEDIA_TYPE', `${what}: config is not an object`);
  return json as ImageConfigJson;
}

type Source = Pick<RegistryAccess, 'getManifest' | 'getBlob'>;

class Resolved implements ResolvedImage {
  #images = new Map<string, Promise<PlatformImage>>();

  constructor(
    readonly reference: ImageReference,
    readonly manifest: FetchedManifest,
    private readonly source: Source,
    private readonly limits: Limits,
  ) {}

  get digest(): string {
    return this.manifest.digest;
  }

  async platforms(selector: readonly string[], signal: AbortSignal): Promise<PlatformImage[]> {
    const wanted = selector.length === 0 ? DEFAULT_PLATFORMS : selector;
    if (this.manifest.kind === 'image') {
      return [await this.#image(this.manifest.digest, undefined, signal)];
    }
    const entries = this.manifest.json.manifests.filter(
      (d) => !isAttestation(d) && !INDEX_TYPES.includes(d.mediaType) && d.platform !== undefined,
    );
    let chosen: Descriptor[];
    if (wanted.includes('all')) {
      chosen = entries;
      if (chosen.length === 0) {
        throw new RegistryError(
          'PLATFORM_NOT_FOUND',
          `${this.reference.original}: the index lists no platforms`,
        );
      }
    } else {
      // every entry a runtime could select for a wanted platform (all linux/amd64 variants), not the first
      chosen = entries.filter((d) => wanted.some((sel) => matchesPlatform(sel, d.platform!)));
      for (const sel of wanted) {
        if (chosen.some((d) => matchesPlatform(sel, d.platform!))) continue;
        throw new RegistryError(
          'PLATFORM_NOT_FOUND',
          `${this.reference.original}: platform ${sel} is not in the index (has ${listPlatforms(entries)})`,
        );
      }
    }
    const max = this.limits.maxPlatformsPerImage;
    if (chosen.length > max) {
      throw overBudget(
        'BUDGET_PLATFORMS',
        `${this.reference.original}: ${chosen.length} platform manifests to check for ${wanted.join(', ')}, ` +
          `more than the ${max} imagegate checks per image (maxPlatformsPerImage)`,
      );
    }
    // the first failure decides; the siblings still queued for a connection are called off
    const siblings = new AbortController();
    const shared = AbortSignal.any([signal, siblings.signal]);
    try {
      return await Promise.all(chosen.map((d) => this.#image(d.digest, d, shared)));
    } catch (err) {
      siblings.abort(err);
      throw err;
    }
  }

  #image(digest: string, descriptor: Descriptor | undefined, signal: AbortSignal): Promise<PlatformImage> {
    let p = this.#images.get(digest);
    if (p === undefined) {
      p = this.#load(digest, descriptor, signal);
      this.#images.set(digest, p);
      p.catch(() => this.#images.delete(digest)); // never keep a failure
    }
    return p;
  }

  async #load(
    digest: string,
    descriptor: Descriptor | undefined,
    signal: AbortSignal,
  ): Promise<PlatformImage> {
    const ref = withDigest(this.reference, digest);
    const manifest =
      descriptor === undefined && this.manifest.kind === 'image'
        ? this.manifest
        : await this.source.getManifest(ref, digest, signal);
    if (manifest.kind !== 'image') {
      throw new RegistryError('UNSUPPORTED_MEDIA_TYPE', `${digest}: index entry is not an image manifest`);
    }
    if (descriptor !== undefined && descriptor.size !== manifest.bytes.byteLength) {
      throw new RegistryError(
        'DIGEST_MISMATCH',
        `${digest}: manifest has ${manifest.bytes.byteLength} bytes, index says ${descriptor.size}`,
      );
    }
    const configDigest = manifest.json.config.digest;
    const bytes = await this.source.getBlob(ref, manifest.json.config, MAX_CONFIG_BYTES, signal);
    const config = parseConfig(bytes, `config ${configDigest}`);
    const platform =
      descriptor?.platform !== undefined ? formatPlatform(descriptor.platform) : configPlatform(config);
    return { platform, manifest, config, configDigest };
  }
}

export function toResolvedImage(
  reference: ImageReference,
  manifest: FetchedManifest,
  source: Source,
  limits: Limits = DEFAULT_LIMITS,
): ResolvedImage {
  return new Resolved(reference, manifest, source, limits);
}
