/** Docker Hub's names: references and credentials say `docker.io`, older tools say otherwise. */

export const DOCKER_HUB = 'docker.io';

const ALIASES: ReadonlySet<string> = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/** Lowercases a registry host and maps Docker Hub's aliases (index.docker.io, registry-1.docker.io) to docker.io. */
export function normaliseRegistryHost(host: string): string {
  const h = host.trim().toLowerCase();
  return ALIASES.has(h) ? DOCKER_HUB : h;
}

/** Docker Hub's one-component repositories live under `library/` (`nginx` → `library/nginx`). */
export function dockerHubRepository(registry: string, repository: string): string {
  return registry === DOCKER_HUB && !repository.includes('/') ? `library/${repository}` : repository;
}
