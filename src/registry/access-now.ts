/**
 * What a registry access answers synchronously, for the cached path (evaluate/reuse-now.ts): the
 * credential scope where every credential provider answers from memory (transport.ts
 * credentialScopeNow), and a tag's digest from the tag window within tagTtl whose manifest the
 * request's credential may read (the answer `freshTag` gives asynchronously).
 */
import type { TtlCache } from '../shared/cache.js';
import type { ContentCache } from './content-cache.js';
import { DEFAULT_TAG, type ImageReference } from './reference.js';
import { credentialScopeNow, type RequestContext } from './transport.js';
import type { RegistryAccess } from './types.js';

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

/** `access` with its synchronous answers, from the client's tag window and content cache. */
export function withAnswersNow(
  access: RegistryAccess,
  ctx: RequestContext,
  tags: TtlCache<string>,
  content: ContentCache,
): RegistryAccess {
  access.credentialScopeNow = (ref) => credentialScopeNow(ctx, ref.registry, ref.repository);
  access.freshTagNow = (ref, scope) =>
    ref.digest === undefined ? taggedNow(tags, content, ref, scope) : undefined;
  return access;
}
