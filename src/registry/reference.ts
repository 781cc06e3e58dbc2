/**
 * Docker/OCI image reference parsing and normalisation, as container runtimes do it:
 * `nginx` → `docker.io/library/nginx:latest`, `index.docker.io` → `docker.io`, ports, IPv6 hosts,
 * `name:tag@sha256:…` keeps both (the digest wins for pulls). Hosts are canonicalised (shared/host.ts):
 * `Registry.Example.com.:443/x` → `registry.example.com/x`, `127.1:5000/x` → `127.0.0.1:5000/x`.
 */
import { ImageReferenceError } from '../errors.js';
import { isDigest } from '../shared/digest.js';
import { canonicalHost } from '../shared/host.js';
import { DOCKER_HUB, dockerHubRepository, normaliseRegistryHost } from '../shared/docker-hub.js';

export const DEFAULT_REGISTRY = DOCKER_HUB;
export const DEFAULT_TAG = 'latest';

export interface ImageReference {
  /** Registry host[:port], normalised (lowercase, docker.io for Docker Hub). */
  registry: string;
  /** Repository path, e.g. library/nginx. */
  repository: string;
  tag?: string;
  digest?: string;
  /** The string as written in the pod spec. */
  original: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const HOST =
  /^(?:\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*\.?)(?::[0-9]{1,5})?$/;
const MAX_LENGTH = 4096;

function invalid(original: string, why: string): ImageReferenceError {
  return new ImageReferenceError(
    'INVALID_REFERENCE',
    `invalid image reference "${truncate(original)}": ${why}`,
  );
}

function truncate(s: string): string {
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}

function looksLikeHost(component: string): boolean {
  return (
    component.includes('.') ||
    component.includes(':') ||
    component.startsWith('[') ||
    component === 'localhost'
  );
}

export function parseReference(input: string): ImageReference {
  const original = input;
  if (typeof input !== 'string' || input.length === 0) throw invalid(String(input), 'empty');
  if (input.length > MAX_LENGTH) throw invalid(input, `longer than ${MAX_LENGTH} characters`);
  if (/\s/.test(input)) throw invalid(input, 'contains whitespace');

  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(digest)) throw invalid(input, `digest "${truncate(digest)}" is not algorithm:hex`);
  }

  let registry = DEFAULT_REGISTRY;
  const slash = rest.indexOf('/');
  if (slash >= 0 && looksLikeHost(rest.slice(0, slash))) {
    registry = rest.slice(0, slash);
    rest = rest.slice(slash + 1);
    // One spelling per endpoint (case, trailing dot, :443, IPv4 forms, IPv4-mapped IPv6): shared/host.ts.
    if (!HOST.test(registry) || canonicalHost(registry) === undefined)
      throw invalid(input, `registry host "${truncate(registry)}" is not valid`);
    registry = normaliseRegistryHost(registry);
  }

  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.indexOf(':', lastSlash + 1);
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalid(input, `tag "${truncate(tag)}" is not valid`);
  }

  if (rest.length === 0) throw invalid(input, 'repository name is empty');
  const components = rest.split('/');
  for (const c of components) {
    if (!COMPONENT.test(c)) {
      throw invalid(
        input,
        /[A-Z]/.test(c)
          ? `repository name must be lowercase ("${truncate(c)}")`
          : `invalid path component "${truncate(c)}"`,
      );
    }
  }
  const repository = dockerHubRepository(registry, rest);
  if (repository.length > 255) throw invalid(input, 'repository name longer than 255 characters');

  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG;
  return {
    registry,
    repository,
    ...(tag !== undefined ? { tag } : {}),
    ...(digest !== undefined ? { digest } : {}),
    original,
  };
}

/** `registry/repository` — what image globs match against (tag and digest excluded). */
export function repositoryName(ref: Pick<ImageReference, 'registry' | 'repository'>): string {
  return `${ref.registry}/${ref.repository}`;
}

/** Fully normalised form: `registry/repository[:tag][@digest]`. */
export function formatReference(ref: ImageReference): string {
  return `${repositoryName(ref)}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** The same repository at a given digest. */
export function withDigest(ref: ImageReference, digest: string): ImageReference {
  return { ...ref, digest };
}
