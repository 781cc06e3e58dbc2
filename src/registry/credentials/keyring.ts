/**
 * A keyring of `host[/path]` → credential entries, looked up like the kubelet: the longest matching
 * key wins. Docker config files, pull secrets and the registry config's usernames all become one.
 */
import { normaliseRegistryHost } from '../../shared/docker-hub.js';
import type { Credential, CredentialProvider, CredentialRequest } from './provider.js';

/** `https://index.docker.io/v1/` → `docker.io`; `ghcr.io/team` → `ghcr.io/team`. */
export function normaliseCredentialKey(key: string): string {
  let k = key.trim().replace(/^[a-z]+:\/\//i, '');
  k = k.replace(/\/+$/, '').replace(/\/v[12]$/, '');
  const slash = k.indexOf('/');
  const host = normaliseRegistryHost(slash < 0 ? k : k.slice(0, slash));
  const path = slash < 0 ? '' : k.slice(slash);
  return `${host}${path}`;
}

export class Keyring implements CredentialProvider {
  readonly #entries: Array<[string, Credential]>;

  constructor(
    entries: Iterable<[string, Credential]>,
    readonly name = 'keyring',
  ) {
    // stable sort by length keeps the given order among equal keys
    this.#entries = [...entries]
      .map(([k, c]): [string, Credential] => [normaliseCredentialKey(k), c])
      .sort((a, b) => b[0].length - a[0].length);
  }

  /** Credential for `registry/repository`, or undefined for anonymous access. */
  lookup(registry: string, repository: string): Credential | undefined {
    const full = `${registry}/${repository}`;
    for (const [key, cred] of this.#entries) {
      if (key === registry || full === key || full.startsWith(`${key}/`)) return cred;
    }
    return undefined;
  }

  credentialsFor(request: CredentialRequest): Promise<Credential | undefined> {
    return Promise.resolve(this.lookup(request.registry, request.repository));
  }

  credentialsNow(request: CredentialRequest): Credential | undefined {
    return this.lookup(request.registry, request.repository);
  }

  get size(): number {
    return this.#entries.length;
  }

  entries(): Array<[string, Credential]> {
    return [...this.#entries];
  }
}
