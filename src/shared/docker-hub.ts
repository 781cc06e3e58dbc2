/** Docker Hub's names: references and credentials say `docker.io`, older tools say otherwise. */
import { memoize } from './cache.js';
import { canonicalHost } from './host.js';

export const DOCKER_HUB = 'docker.io';

const ALIASES: ReadonlySet<string> = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/**
 * The canonical host (host.ts: case, trailing dot, `:443`, IPv4 forms, IPv4-mapped IPv6) with Docker
 * Hub's aliases (index.docker.io, registry-1.docker.io) mapped to docker.io. A host the URL parser
 * refuses (or a `*.suffix` pattern) is only lowercased. Remembered (a pure function of the text,
 * asked twice per registry request: the endpoint's options and the metrics label; the URL parse
 * behind it is most of the cost).
 */
export const normaliseRegistryHost: (host: string) => string = memoize((host) => {
  const lower = host.trim().toLowerCase();
  const h = canonicalHost(lower) ?? lower;
  return ALIASES.has(h) ? DOCKER_HUB : h;
});

/** Docker Hub's one-component repositories live under `library/` (`nginx` → `library/nginx`). */
export function dockerHubRepository(registry: string, repository: string): string {
  return registry === DOCKER_HUB && !repository.includes('/') ? `library/${repository}` : repository;
}
