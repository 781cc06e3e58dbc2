/**
 * The registry client: manifests, blobs and referrers with digest checks, size caps, caches and
 * singleflight, over the Transport. `createRegistry` is called once at start-up; `access()` gives
 * per-request views that share one deadline and the pod's pull credentials.
 */
import { RegistryError } from '../errors.js';
import { TtlCache } from '../shared/cache.js';
import { ContentCache, DEFAULT_TAG_TTL_MS, manifestCost } from './content-cache.js';
import { SingleFlight } from './cache.js';
import { AccessNow, resolveOnce, type FullAccess } from './access-now.js';
import { chainProviders, type CredentialProvider, type PullIdentity } from './credentials/provider.js';
import { computeDigest, isDigest, verifyDigest, verifySize } from './digest.js';
import { discard, header, readBody } from './http.js';
import { ReviewBytes } from './limits.js';
import { MANIFEST_ACCEPT, MAX_MANIFEST_BYTES, baseMediaType } from './media-types.js';
import type { RegistryOptions } from './options.js';
import { DEFAULT_TAG } from './reference.js';
import { askReferrersApi, mayBeOfType, ReferrersApiHosts, type ApiAnswer } from './referrers.js';
import { parseManifest, yieldAfterLargeRead } from './content.js';
import { toResolvedImage } from './resolve.js';
import { NoSuchTag, noSuchTagError, orUndefined } from './status-error.js';
import {
  credentialScope,
  Transport,
  type RegistryHooks,
  type RequestContext,
  type Target,
} from './transport.js';
import type { Descriptor, FetchedManifest, RegistryAccess } from './types.js';

export type { RegistryHooks } from './transport.js';

export interface AccessOptions {
  /** Credentials for this request only; tried before the registry's own provider chain. */
  credentials?: CredentialProvider | undefined;
  /** Whose pull credentials to use (the pod's namespace, service account and imagePullSecrets). */
  identity?: PullIdentity | undefined;
  /** Epoch ms when this request's budget ends; bounds how long a 429 Retry-After may be honoured. */
  deadline?: number | undefined;
}

/** What the core holds for the process lifetime. */
export interface Registry {
  access(options?: AccessOptions): RegistryAccess;
  close(): Promise<void>;
}

export class RegistryClient implements Registry {
  readonly #options: RegistryOptions;
  readonly #transport: Transport;
  readonly #tagTtlMs: number;
  readonly #tags: TtlCache<string>;
  /** Tags whose digest we have seen: a HEAD then saves re-pulling a cached manifest. */
  readonly #lastDigest: TtlCache<string>;
  readonly #content: ContentCache;
  readonly #flights = new SingleFlight();
  /** Which hosts have the referrers API (a 404 there means none: go straight to the tag). */
  readonly #referrersApi: ReferrersApiHosts;
  #ownChain: CredentialProvider | undefined;

  constructor(options: RegistryOptions = {}, hooks: RegistryHooks = {}) {
    this.#options = options;
    this.#transport = new Transport(options, hooks);
    this.#tagTtlMs = options.tagTtlMs ?? DEFAULT_TAG_TTL_MS;
    this.#tags = new TtlCache<string>(4096, options.now);
    this.#lastDigest = new TtlCache<string>(4096, options.now);
    this.#content = new ContentCache(options.cacheMaxBytes ?? 64 * 1024 * 1024);
    this.#referrersApi = new ReferrersApiHosts({
      ...(options.now !== undefined ? { now: options.now } : {}),
    });
  }

  /** A review's view: its synchronous answers at once, the rest on first use (access-now.ts). */
  access(options: AccessOptions = {}): RegistryAccess {
    const ctx: RequestContext = {
      credentials:
        options.credentials !== undefined
          ? chainProviders([options.credentials, this.#options.credentials])
          : (this.#ownChain ??= chainProviders([this.#options.credentials])), // serve's: one, not one per review
      identity: options.identity,
      deadline: options.deadline,
    };
    const { limits } = this.#transport.connections;
    return new AccessNow(limits, ctx, this.#tags, this.#content, this.#fullAccess);
  }

  /** The asynchronous members of a review's access, over the context access() made. */
  readonly #fullAccess = (ctx: RequestContext): FullAccess => {
    const limits = this.#transport.connections.limits;
    ctx.found = new Map();
    const bytes = new ReviewBytes(this.#transport.connections.bytes, limits.maxBytesPerReview, ctx.deadline);
    ctx.bytes = bytes;
    const access: FullAccess = {
      limits,
      release: () => bytes.release(),
      account: (n, what) => bytes.take(n, what),
      credentialScope: (ref) => this.#cred(ctx, ref),
      freshTag: async (ref) =>
        ref.digest === undefined ? (await this.#tagged(ctx, ref, ref.tag ?? DEFAULT_TAG))?.digest : undefined,
      resolve: resolveOnce(limits, (ref, signal) =>
        this.getManifest(ctx, ref, ref.digest ?? ref.tag ?? DEFAULT_TAG, signal).then((m) =>
          toResolvedImage(ref, m, access, limits),
        ),
      ),
      getManifest: (ref, tagOrDigest, signal) => this.getManifest(ctx, ref, tagOrDigest, signal),
      findTag: async (ref, tag, signal) => orUndefined(await this.#byTag(ctx, ref, tag, signal)),
      getBlob: (ref, d, maxBytes, signal) => this.getBlob(ctx, ref, d, maxBytes, signal),
      getReferrers: (ref, digest, artifactType, signal) =>
        this.getReferrers(ctx, ref, digest, artifactType, signal),
    };
    return access;
  };

  async getManifest(
    ctx: RequestContext,
    ref: Target,
    tagOrDigest: string,
    signal: AbortSignal,
  ): Promise<FetchedManifest> {
    const repoKey = `${ref.registry}/${ref.repository}`;
    const byDigest = isDigest(tagOrDigest);
    // A cached digest (every cached decision) returns before anything else is built.
    const key = byDigest ? `m:${repoKey}@${tagOrDigest}` : '';
    // Looked up only when a fetch is due or cached content was read with a credential.
    const credKey = (): Promise<string> => this.#cred(ctx, ref, signal);
    const hit = byDigest ? await this.#content.get(key, credKey) : undefined;
    if (hit !== undefined) return hit as FetchedManifest;
    const what = `manifest ${repoKey}${byDigest ? '@' : ':'}${tagOrDigest}`;
    if (byDigest) {
      const cred = await credKey();
      return this.#flights.do(`${key}|${cred}`, signal, async (s) => {
        const res = await this.#transport.exchange(
          ctx,
          ref,
          {
            method: 'GET',
            path: `/v2/${ref.repository}/manifests/${tagOrDigest}`,
            accept: MANIFEST_ACCEPT,
            what,
          },
          s,
        );
        await this.#transport.expectOk(res, what, 'MANIFEST_UNKNOWN');
        const bytes = await readBody(res, MAX_MANIFEST_BYTES, s, what, ctx.bytes);
        verifyDigest(bytes, tagOrDigest, what);
        await yieldAfterLargeRead(bytes);
        const manifest = this.#parse(bytes, tagOrDigest, header(res, 'content-type'), what);
        this.#content.set(key, manifest, cred, manifestCost(bytes));
        return manifest;
      });
    }
    const found = await this.#byTag(ctx, ref, tagOrDigest, signal);
    if (found instanceof NoSuchTag) throw noSuchTagError(what, found);
    return found;
  }

  /**
   * A tag's manifest, or NoSuchTag for a 404: a tag absent for most images (the referrers fallback,
   * `.sig`) costs no error built, thrown and caught, nor the registry's error body parsed.
   */
  async #byTag(ctx: RequestContext, ref: Target, tag: string, signal: AbortSignal) {
    const repoKey = `${ref.registry}/${ref.repository}`;
    const what = `manifest ${repoKey}:${tag}`;
    const tagged = await this.#tagged(ctx, ref, tag);
    if (tagged !== undefined) return tagged;
    const tagKey = `${repoKey}:${tag}`;
    const cred = await this.#cred(ctx, ref, signal);
    const mine = (digest: string): FetchedManifest | undefined =>
      this.#content.getFor(`m:${repoKey}@${digest}`, cred) as FetchedManifest | undefined;
    return this.#flights.do<FetchedManifest | NoSuchTag>(`t:${tagKey}|${cred}`, signal, async (s) => {
      const path = `/v2/${ref.repository}/manifests/${tag}`;
      const ask = (method: 'GET' | 'HEAD') =>
        this.#transport.exchange(ctx, ref, { method, path, accept: MANIFEST_ACCEPT, what }, s);
      const known = this.#lastDigest.get(tagKey);
      if (known !== undefined && mine(known) !== undefined) {
        const head = await ask('HEAD');
        if (head.status === 404) return new NoSuchTag(await discard(head));
        await this.#transport.expectOk(head, what, 'MANIFEST_UNKNOWN');
        await discard(head);
        const digest = header(head, 'docker-content-digest');
        const hit = digest !== undefined ? mine(digest) : undefined;
        if (digest !== undefined && hit !== undefined) {
          this.#tags.set(tagKey, digest, this.#tagTtlMs);
          return hit;
        }
      }
      const res = await ask('GET');
      if (res.status === 404) return new NoSuchTag(await discard(res));
      await this.#transport.expectOk(res, what, 'MANIFEST_UNKNOWN');
      const bytes = await readBody(res, MAX_MANIFEST_BYTES, s, what, ctx.bytes);
      const claimed = header(res, 'docker-content-digest');
      // one hash of up to 4 MiB (~8 ms), not two: the claimed digest is verified, or one computed
      const digest = claimed !== undefined && isDigest(claimed) ? claimed : computeDigest(bytes);
      if (digest === claimed) verifyDigest(bytes, claimed, what);
      await yieldAfterLargeRead(bytes);
      const manifest = this.#parse(bytes, digest, header(res, 'content-type'), what);
      this.#content.set(`m:${repoKey}@${digest}`, manifest, cred, manifestCost(bytes));
      this.#tags.set(tagKey, digest, this.#tagTtlMs);
      this.#lastDigest.set(tagKey, digest, 3_600_000);
      return manifest;
    });
  }

  /** Which credential `ctx` sends to `ref`'s repository: a key, never the secret. */
  #cred(ctx: RequestContext, ref: Target, signal?: AbortSignal): Promise<string> {
    return credentialScope(ctx, ref.registry, ref.repository, signal);
  }

  /** A tag's manifest from the tag window (within tagTtl) that `ctx` may read; undefined: ask. */
  async #tagged(ctx: RequestContext, ref: Target, tag: string): Promise<FetchedManifest | undefined> {
    const repoKey = `${ref.registry}/${ref.repository}`;
    const digest = this.#tags.get(`${repoKey}:${tag}`);
    if (digest === undefined) return undefined;
    const hit = await this.#content.get(`m:${repoKey}@${digest}`, () => this.#cred(ctx, ref));
    return hit as FetchedManifest | undefined;
  }

  /** Parses a fetched manifest, applying the entry budgets before it is checked, cached or used. */
  #parse(bytes: Uint8Array, digest: string, contentType: string | undefined, what: string): FetchedManifest {
    return parseManifest(bytes, digest, baseMediaType(contentType), what, this.#transport.connections.limits);
  }

  async getBlob(
    ctx: RequestContext,
    ref: Target,
    d: Descriptor,
    maxBytes: number,
    signal: AbortSignal,
  ): Promise<Uint8Array> {
    const repoKey = `${ref.registry}/${ref.repository}`;
    const what = `blob ${repoKey}@${d.digest}`;
    if (!isDigest(d.digest)) throw new RegistryError('DIGEST_MISMATCH', `${what}: not a supported digest`);
    if (d.size > maxBytes) {
      throw new RegistryError(
        'RESPONSE_TOO_LARGE',
        `${what}: ${d.size} bytes is over the ${maxBytes}-byte limit`,
      );
    }
    const key = `b:${repoKey}@${d.digest}`;
    const credKey = (): Promise<string> => this.#cred(ctx, ref, signal);
    const hit = await this.#content.get(key, credKey);
    if (hit !== undefined) return hit as Uint8Array;
    const cred = await credKey();
    return this.#flights.do(`${key}|${cred}`, signal, async (s) => {
      const res = await this.#transport.exchange(
        ctx,
        ref,
        { method: 'GET', path: `/v2/${ref.repository}/blobs/${d.digest}`, what },
        s,
      );
      await this.#transport.expectOk(res, what, 'BLOB_UNKNOWN');
      const bytes = await readBody(res, maxBytes, s, what, ctx.bytes);
      verifySize(bytes, d.size, what);
      verifyDigest(bytes, d.digest, what);
      this.#content.set(key, bytes, cred, bytes.byteLength);
      return bytes;
    });
  }

  async getReferrers(
    ctx: RequestContext,
    ref: Target,
    digest: string,
    artifactType: string | undefined,
    signal: AbortSignal,
  ): Promise<Descriptor[]> {
    const what = `referrers of ${ref.registry}/${ref.repository}@${digest}`;
    if (!isDigest(digest)) throw new RegistryError('DIGEST_MISMATCH', `${what}: not a supported digest`);
    const query = artifactType !== undefined ? `?artifactType=${encodeURIComponent(artifactType)}` : '';
    const path = `/v2/${ref.repository}/referrers/${digest}${query}`;
    const api = (): Promise<ApiAnswer> => askReferrersApi(this.#transport, ctx, ref, path, what, signal);
    const tag = async (): Promise<Descriptor[]> => {
      const index = orUndefined(await this.#byTag(ctx, ref, digest.replace(':', '-'), signal));
      return index?.kind === 'index' ? index.json.manifests : [];
    };
    const descriptors = await this.#referrersApi.lookup(ref.registry, signal, api, tag);
    return descriptors.filter((x) => mayBeOfType(x.artifactType, artifactType));
  }

  /** Closes the connection pools; pending requests fail. */
  close(): Promise<void> {
    return this.#transport.close();
  }
}

export function createRegistry(options: RegistryOptions = {}, hooks: RegistryHooks = {}): Registry {
  return new RegistryClient(options, hooks);
}
