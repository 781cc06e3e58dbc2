/**
 * What a registry access answers synchronously, for the cached path (evaluate/reuse-now.ts): the
 * credential scope where every credential provider answers from memory (transport.ts
 * credentialScopeNow), and a tag's digest from the tag window within tagTtl whose manifest the
 * request's credential may read (the answer `freshTag` gives asynchronously).
 */
import type { TtlCache } from '../shared/cache.js';
import type { ContentCache } from './content-cache.js';
import { DEFAULT_TAG, formatReference, type ImageReference } from './reference.js';
import { credentialScopeNow, type RequestContext } from './transport.js';
import { overBudget, type Limits } from './limits.js';
import type { Descriptor, FetchedManifest, RegistryAccess, ResolvedImage } from './types.js';

/**
 * The tag window's cache keys per reference: the tag's, and the manifest's of the digest it last
 * named. The evaluator's references are the same objects every review (evaluate/image-names.ts), so
 * the same key strings are hashed once, not built and hashed on every lookup. Derived from the
 * reference alone: shared by every client, gone with the reference.
 */
const keys = new WeakMap<ImageReference, { tag: string; digest: string; manifest: string }>();

function taggedNow(
  tags: TtlCache<string>,
  content: ContentCache,
  ref: ImageReference,
  scope: string,
): string | undefined {
  let k = keys.get(ref);
  if (k === undefined) {
    k = { tag: `${ref.registry}/${ref.repository}:${ref.tag ?? DEFAULT_TAG}`, digest: '', manifest: '' };
    keys.set(ref, k);
  }
  const digest = tags.get(k.tag);
  if (digest === undefined) return undefined;
  if (k.digest !== digest) {
    k.digest = digest;
    k.manifest = `m:${ref.registry}/${ref.repository}@${digest}`;
  }
  return content.getFor(k.manifest, scope) !== undefined ? digest : undefined;
}

/** `resolve`, asked once per image and review, for at most maxImagesPerReview distinct images. */
export function resolveOnce(
  limits: Readonly<Limits>,
  fetch: (ref: ImageReference, signal: AbortSignal) => Promise<ResolvedImage>,
): RegistryAccess['resolve'] {
  const resolved = new Map<string, Promise<ResolvedImage>>();
  const seen = new Set<string>();
  return (ref, signal) => {
    const key = formatReference(ref);
    let p = resolved.get(key);
    if (p === undefined) {
      seen.add(key);
      if (seen.size > limits.maxImagesPerReview) {
        return Promise.reject(
          overBudget(
            'BUDGET_IMAGES',
            `${ref.original}: the review names more than ${limits.maxImagesPerReview} distinct images ` +
              `to check at registries (maxImagesPerReview)`,
          ),
        );
      }
      p = fetch(ref, signal);
      resolved.set(key, p);
      p.catch(() => resolved.delete(key));
    }
    return p;
  };
}

/** What access() makes on first use: every member but the synchronous ones. */
export type FullAccess = RegistryAccess &
  Required<
    Pick<RegistryAccess, 'limits' | 'release' | 'account' | 'credentialScope' | 'freshTag' | 'findTag'>
  >;

/**
 * A review's registry access (RegistryClient.access()): the synchronous answers from the request's
 * credential chain and the client's caches; the full access (a byte budget with its timer, two maps,
 * a set, a dozen closures: ~1.2 KB) made on the first asynchronous call, so a review answered from
 * memory never makes it. A class: one object per review, its methods shared.
 */
export class AccessNow implements RegistryAccess {
  #full: FullAccess | undefined;

  constructor(
    readonly limits: Readonly<Limits>,
    private readonly ctx: RequestContext,
    private readonly tags: TtlCache<string>,
    private readonly content: ContentCache,
    private readonly make: (ctx: RequestContext) => FullAccess,
  ) {}

  #access(): FullAccess {
    return (this.#full ??= this.make(this.ctx));
  }

  credentialScopeNow(ref: ImageReference): string | undefined {
    return credentialScopeNow(this.ctx, ref.registry, ref.repository);
  }

  freshTagNow(ref: ImageReference, scope: string): string | undefined {
    return ref.digest === undefined ? taggedNow(this.tags, this.content, ref, scope) : undefined;
  }

  /** Nothing to release when nothing asynchronous was asked (no byte budget was made). */
  release(): void {
    this.#full?.release();
  }

  account(bytes: number, what: string): void {
    this.#access().account(bytes, what);
  }

  credentialScope(ref: ImageReference): Promise<string> {
    return this.#access().credentialScope(ref);
  }

  freshTag(ref: ImageReference): Promise<string | undefined> {
    return this.#access().freshTag(ref);
  }

  resolve(ref: ImageReference, signal: AbortSignal): Promise<ResolvedImage> {
    return this.#access().resolve(ref, signal);
  }

  getManifest(ref: ImageReference, tagOrDigest: string, signal: AbortSignal): Promise<FetchedManifest> {
    return this.#access().getManifest(ref, tagOrDigest, signal);
  }

  findTag(ref: ImageReference, tag: string, signal: AbortSignal): Promise<FetchedManifest | undefined> {
    return this.#access().findTag(ref, tag, signal);
  }

  getBlob(ref: ImageReference, d: Descriptor, maxBytes: number, signal: AbortSignal): Promise<Uint8Array> {
    return this.#access().getBlob(ref, d, maxBytes, signal);
  }

  getReferrers(
    ref: ImageReference,
    digest: string,
    artifactType: string | undefined,
    signal: AbortSignal,
  ): Promise<Descriptor[]> {
    return this.#access().getReferrers(ref, digest, artifactType, signal);
  }
}
