/** Docker Hub's names: references and credentials say `docker.io`, older tools say otherwise. */
import { canonicalHost } from './host.js';

export const DOCKER_HUB = 'docker.io';

const ALIASES: ReadonlySet<string> = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/**
 * Hosts already normalised (a pure function of the text, asked twice per registry request: the
 * endpoint's options and the metrics label; the URL parse behind it is most of the cost). Bounded:
 * cleared when full, since the hosts of pod specs are not ours to choose.
 */
const normalised = new Map<string, string>();
const MAX_NORMALISED = 1024;

/**
 * The canonical host (host.ts: case, trailing dot, `:443`, IPv4 forms, IPv4-mapped IPv6) with Docker
 * Hub's aliases (index.docker.io, registry-1.docker.io) mapped to docker.io. A host the URL parser
 * refuses (or a `*.suffix` pattern) is only lowercased.
 */
export function normaliseRegistryHost(host: string): string {
  let normal = normalised.get(host);
  if (normal === undefined) {
    const lower = host.trim().toLowerCase();
    const h = canonicalHost(lower) ?? lower;
    normal = ALIASES.has(h) ? DOCKER_HUB : h;
    if (normalised.size >= MAX_NORMALISED) normalised.clear();
    normalised.set(host, normal);
  }
  return normal;
}

/** Docker Hub's one-component repositories live under `library/` (`nginx` → `library/nginx`). */
export function dockerHubRepository(registry: string, repository: string): string {
  return registry === DOCKER_HUB && !repository.includes('/') ? `library/${repository}` : repository;
}
