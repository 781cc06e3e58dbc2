/**
 * Digest-addressed content (manifests, blobs) kept between reviews, with the credential it was read
 * with. Anonymous content answers everyone (the registry gave it to anyone); content read with a pull
 * secret answers only requests that would send the same credential, so a verdict obtained with one
 * namespace's secret never answers a namespace without it (issue 20, property 6).
 */
import { ByteLru } from '../shared/cache.js';
import { credentialKey } from './credentials/index.js';
import type { FetchedManifest } from './types.js';

export type Content = FetchedManifest | Uint8Array;

/**
 * How long a tag → digest answer is reused before the tag is asked again (a HEAD): a tag moved in
 * the registry answers from its old digest at most this long. Short: a node pulls by tag seconds
 * after admission. `tagTtl` in the registry configuration sets another value (0: ask every time).
 */
export const DEFAULT_TAG_TTL_MS = 5_000;

/** Manifests larger than this are not cached: real ones are a few KiB, big ones are suspicious. */
const MAX_CACHED_MANIFEST_BYTES = 1024 * 1024;

/** What a cached manifest costs: its bytes plus the parsed JSON (about as much again). */
export function manifestCost(bytes: Uint8Array): number {
  return bytes.byteLength > MAX_CACHED_MANIFEST_BYTES ? Number.POSITIVE_INFINITY : 2 * bytes.byteLength;
}

export const ANONYMOUS = credentialKey(undefined);

export class ContentCache {
  readonly #lru: ByteLru<{ value: Content; cred: string }>;

  constructor(maxBytes: number) {
    this.#lru = new ByteLru(maxBytes);
  }

  /** What `cred` may see under `key`; `cred` is computed only for content read with a credential. */
  async get(key: string, cred: () => Promise<string>): Promise<Content | undefined> {
    const hit = this.#lru.get(key);
    if (hit === undefined) return undefined;
    if (hit.cred === ANONYMOUS || hit.cred === (await cred())) return hit.value;
    return undefined;
  }

  /** The same, for a caller that already knows its credential key. */
  getFor(key: string, cred: string): Content | undefined {
    const hit = this.#lru.get(key);
    return hit !== undefined && (hit.cred === ANONYMOUS || hit.cred === cred) ? hit.value : undefined;
  }

  set(key: string, value: Content, cred: string, bytes: number): void {
    this.#lru.set(key, { value, cred }, bytes);
  }
}
