/**
 * Manifest parsing and the ResolvedImage implementation shared by registry and OCI-layout access:
 * an index resolves to per-platform image manifests and their configs, all digest-verified.
 */
import { RegistryError } from '../errors.js';
import { formatPlatform, matchesPlatform, normalizePlatform } from './platform.js';
import type { ImageReference } from './reference.js';
import { withDigest } from './reference.js';
import { DEFAULT_LIMITS, overBudget, type Limits } from './limits.js';
import { parseConfig } from './content.js';
import { INDEX_TYPES, MAX_CONFIG_BYTES } from './media-types.js';
import type {
  Descriptor,
  FetchedManifest,
  ImageConfigJson,
  PlatformImage,
  RegistryAccess,
  ResolvedImage,
} from './types.js';

export const DEFAULT_PLATFORMS: readonly string[] = ['linux/amd64'];
export { formatPlatform, matchesPlatform };

/** The platforms of an index for a message: distinct values, at most 10 named. */
function listPlatforms(entries: readonly Descriptor[]): string {
  const names = [
    ...new Set(entries.map((d) => (d.platform ? formatPlatform(d.platform) : 'none').slice(0, 64))),
  ];
  if (names.length === 0) return 'none';
  const more = names.length > 10 ? ` and ${names.length - 10} more` : '';
  return names.slice(0, 10).join(', ') + more;
}

/**
 * BuildKit attestation manifests and other entries no node runs: platform `unknown/unknown` (in any
 * spelling). An annotation alone does not make an entry an attestation: a node selects by platform,
 * so an "attestation" listed as linux/amd64 is checked like any other linux/amd64 entry.
 */
export function isAttestation(d: Descriptor): boolean {
  if (d.platform === undefined) return false;
  const n = normalizePlatform(d.platform);
  return n.os === 'unknown' && n.architecture === 'unknown';
}

/**
 * An index entry's platform and its config's must name the same OS and architecture: the node picks
 * by the index, the image runs as the config says, and a policy judged one of them.
 */
function assertConfigAgrees(
  listed: Descriptor['platform'] & object,
  config: ImageConfigJson,
  digest: string,
): void {
  if (config.os === undefined || config.architecture === undefined) return;
  const a = normalizePlatform(listed);
  const b = normalizePlatform({ os: config.os, architecture: config.architecture });
  if (a.os === b.os && a.architecture === b.architecture) return;
  throw new RegistryError(
    'PLATFORM_AMBIGUOUS',
    `${digest}: the index lists it as ${formatPlatform(listed).slice(0, 64)} but its config says ` +
      `${`${config.os}/${config.architecture}`.slice(0, 64)}`,
  );
}

function configPlatform(config: ImageConfigJson): string {
  if (config.os === undefined || config.architecture === undefined) return 'unknown/unknown';
  return formatPlatform({
    os: config.os,
    architecture: config.architecture,
    ...(config.variant ? { variant: config.variant } : {}),
  });
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
    const all = this.manifest.json.manifests.filter((d) => !isAttestation(d));
    const nested = all.find((d) => INDEX_TYPES.includes(d.mediaType));
    if (nested !== undefined) {
      // a node descends into it and may run what it lists first: imagegate does not judge that order
      throw new RegistryError(
        'PLATFORM_AMBIGUOUS',
        `${this.reference.original}: the index lists another index (${nested.digest}); a node would ` +
          'choose among the entries of both, which imagegate cannot judge: push a flat index',
      );
    }
    // an entry without a platform is chosen by its config's platform: it is checked for every selector
    const entries = all;
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
      // every entry a node of a wanted platform could select (any spelling, older variants), not the first
      const could = (sel: string, d: Descriptor): boolean =>
        d.platform === undefined || matchesPlatform(sel, d.platform);
      chosen = entries.filter((d) => wanted.some((sel) => could(sel, d)));
      for (const sel of wanted) {
        if (chosen.some((d) => d.platform !== undefined && matchesPlatform(sel, d.platform))) continue;
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
    if (descriptor?.platform !== undefined) assertConfigAgrees(descriptor.platform, config, digest);
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
