/**
 * Manifest parsing and the ResolvedImage implementation shared by registry and OCI-layout access:
 * an index resolves to per-platform image manifests and their configs, all digest-verified.
 */
import { RegistryError } from '../errors.js';
import type { ImageReference } from './reference.js';
import { withDigest } from './reference.js';
import { DEFAULT_LIMITS, overBudget, type Limits } from './limits.js';
import { parseConfig } from './content.js';
import { INDEX_TYPES, MAX_CONFIG_BYTES } from './media-types.js';
import type {
  Descriptor,
  FetchedManifest,
  ImageConfigJson,
  Platform,
  PlatformImage,
  RegistryAccess,
  ResolvedImage,
} from './types.js';

export const DEFAULT_PLATFORMS: readonly string[] = ['linux/amd64'];

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
