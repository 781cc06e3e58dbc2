/**
 * The cloud step of the credential chain: the first enabled source whose host pattern matches the
 * registry answers, through the one token cache. A matching source never answers "undefined": a
 * failure is CREDENTIALS_UNAVAILABLE, not a silent anonymous pull that then fails with a confusing 401.
 */
import type { Credential, CredentialProvider, CredentialRequest } from '../provider.js';
import type { CloudProviderStatus, CloudTokenSource } from './source.js';
import type { CloudTokenCache } from './token-cache.js';

export class CloudCredentials implements CredentialProvider {
  readonly name = 'cloud';
  readonly #sources: readonly CloudTokenSource[];
  readonly #cache: CloudTokenCache;
  readonly #allowed: (registry: string) => boolean;

  /**
   * `allowed`: the registries imagegate may contact (`--allow-registry`, `allow:` in the registry
   * config); a cloud identity is never spent on any other host.
   */
  constructor(
    sources: readonly CloudTokenSource[],
    cache: CloudTokenCache,
    allowed: (registry: string) => boolean = () => true,
  ) {
    this.#sources = sources;
    this.#cache = cache;
    this.#allowed = allowed;
  }

  /** The source serving `registry`, if any (for `imagegate check` messages and tests). */
  sourceFor(registry: string): CloudTokenSource | undefined {
    const host = registry.toLowerCase();
    if (!this.#allowed(host)) return undefined;
    return this.#sources.find((s) => s.matches(host));
  }

  credentialsFor(request: CredentialRequest): Promise<Credential | undefined> {
    const source = this.sourceFor(request.registry);
    if (source === undefined) return Promise.resolve(undefined);
    return this.#cache.get(source, request.registry.toLowerCase(), request.signal);
  }

  get sources(): readonly CloudTokenSource[] {
    return this.#sources;
  }

  /** Per provider, for /readyz and the token-age metric. */
  status(): CloudProviderStatus[] {
    return this.#cache.status(this.#sources);
  }
}
