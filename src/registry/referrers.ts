/**
 * The OCI 1.1 referrers of a digest: the referrers API, or on a registry without it the
 * `sha256-<hex>` tag fallback (distribution 2.8, and many registries in use, have no API).
 *
 * The distribution spec says a registry that supports the API MUST NOT answer it with 404, so a 404
 * (or 400, 405, 501) means the host has none. `ReferrersApiHosts` remembers that per registry host
 * (bounded, for `ttlMs`, 15 minutes by default) and later lookups go straight to the tag: one request
 * instead of two per digest. While the first lookup to a host of unknown support is in flight,
 * concurrent ones wait for what it learns rather than asking too (one probe per host): on a host
 * without the API they take the same two round trips the probe does (API, then tag); on a host with it,
 * one more than the API alone, once per host and TTL. A 200 with an OCI index means the API is there.
 * What failed (network errors, 401, 5xx) teaches nothing and is not remembered.
 */
import { TtlCache } from '../shared/cache.js';
import { raceAbort } from './cache.js';
import { computeDigest } from './digest.js';
import { discard, header, readBody } from './http.js';
import { MAX_MANIFEST_BYTES, OCI_INDEX, baseMediaType } from './media-types.js';
import { parseManifest } from './content.js';
import type { RequestContext, Target, Transport } from './transport.js';
import type { Descriptor } from './types.js';

export interface ReferrersApiOptions {
  /** Hosts remembered (least recently used out first); default 1024. */
  maxHosts?: number;
  /** How long an answer is remembered; default 15 minutes. */
  ttlMs?: number;
  now?: () => number;
}

export const DEFAULT_REFERRERS_API_TTL_MS = 15 * 60_000;

/** What one referrers API request taught: the referrers, or that the host has no API (`absent`). */
export type ApiAnswer =
  | { kind: 'found'; descriptors: Descriptor[] }
  | { kind: 'absent' }
  /** Not an index, but not a "no API" status either (a 200 of another type): use the tag, learn nothing. */
  | { kind: 'unsure' };

/** The OCI empty descriptor's media type (the config of artifacts without one). */
export const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';

/**
 * Whether a referrer listed with artifactType `listed` may be of type `wanted`. A tag fallback index
 * is written by the client that pushed the referrer, and go-containerregistry (cosign 2's
 * `--new-bundle-format`) lists the config's media type there, `application/vnd.oci.empty.v1+json`,
 * not the manifest's artifactType: such an entry (or one without a type) says nothing, so it is kept
 * and the caller reads the manifest to learn its type.
 */
export function mayBeOfType(listed: string | undefined, wanted: string | undefined): boolean {
  return wanted === undefined || listed === wanted || listed === undefined || listed === OCI_EMPTY;
}

/** Statuses of a registry without the referrers API (404 per the spec; 400, 405 and 501 seen too). */
export const NO_REFERRERS_API: readonly number[] = [400, 404, 405, 501];

const settle = (): void => undefined;

/** One referrers API request (`path` with its query): the index it answers, or what its status says. */
export async function askReferrersApi(
  transport: Transport,
  ctx: RequestContext,
  ref: Target,
  path: string,
  what: string,
  signal: AbortSignal,
): Promise<ApiAnswer> {
  const res = await transport.exchange(ctx, ref, { method: 'GET', path, accept: OCI_INDEX, what }, signal);
  if (res.status === 200 && baseMediaType(header(res, 'content-type')) === OCI_INDEX) {
    const bytes = await readBody(res, MAX_MANIFEST_BYTES, signal, what, ctx.bytes);
    const index = parseManifest(bytes, computeDigest(bytes), OCI_INDEX, what, transport.connections.limits);
    return { kind: 'found', descriptors: index.kind === 'index' ? index.json.manifests : [] };
  }
  if (res.status === 200 || NO_REFERRERS_API.includes(res.status)) {
    await discard(res);
    return { kind: res.status === 200 ? 'unsure' : 'absent' };
  }
  await transport.expectOk(res, what, 'MANIFEST_UNKNOWN'); // throws: not a 200
  return { kind: 'found', descriptors: [] };
}

export class ReferrersApiHosts {
  readonly #known: TtlCache<boolean>;
  readonly #probes = new Map<string, Promise<void>>();
  readonly #ttlMs: number;

  constructor(options: ReferrersApiOptions = {}) {
    this.#known = new TtlCache<boolean>(options.maxHosts ?? 1024, options.now, { evict: 'use' });
    this.#ttlMs = options.ttlMs ?? DEFAULT_REFERRERS_API_TTL_MS;
  }

  /** Whether `host` is known to have the referrers API (undefined: not known). */
  known(host: string): boolean | undefined {
    return this.#known.get(host);
  }

  /**
   * The referrers through `api` (one request, which also tells whether the host has the API) or,
   * when the host is known to have none, through `tag` alone.
   */
  async lookup(
    host: string,
    signal: AbortSignal,
    api: () => Promise<ApiAnswer>,
    tag: () => Promise<Descriptor[]>,
  ): Promise<Descriptor[]> {
    let has = this.#known.get(host);
    if (has === undefined) {
      const probe = this.#probes.get(host);
      if (probe !== undefined) {
        await raceAbort(probe, signal);
        has = this.#known.get(host);
      }
    }
    if (has === false) return tag();
    const asked = api().then((answer) => {
      if (answer.kind !== 'unsure') this.#known.set(host, answer.kind === 'found', this.#ttlMs);
      return answer;
    });
    if (has === undefined && !this.#probes.has(host)) {
      // Registered in the same turn as the check above: no second probe can start in between.
      const settled = asked.then(settle, settle);
      this.#probes.set(host, settled);
      void settled.then(() => {
        if (this.#probes.get(host) === settled) this.#probes.delete(host);
      });
    }
    const answer = await asked;
    return answer.kind === 'found' ? answer.descriptors : tag();
  }
}
