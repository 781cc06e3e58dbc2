/** Image names of a pod, parsed and matched against a policy set's image globs once per set. */
import type { CompiledPolicy } from '../policy/compile.js';
import {
  formatReference,
  parseReference,
  repositoryName,
  type ImageReference,
} from '../registry/reference.js';
import { memoize } from '../shared/cache.js';

/** An image name parsed and matched against a policy set's image globs. */
export interface ImageName {
  reference: ImageReference;
  full: string;
  repository: string;
  /** The policies whose `images` (and not `exclude`) match it, before namespace selection. */
  matching: readonly CompiledPolicy[];
}

export function nameImage(
  image: string,
  policies: readonly CompiledPolicy[],
  parse: (image: string) => ImageReference,
): ImageName {
  const reference = Object.freeze(parse(image));
  const full = formatReference(reference);
  const repository = repositoryName(reference);
  return { reference, full, repository, matching: policies.filter((p) => p.matchesImage(repository, full)) };
}

/**
 * An engine's memo of image names (made with the engine, cli/setup.ts: two engines share none).
 * Pods repeat the same image names: each is parsed and matched once per policy set (a reload makes
 * a new set, and its own memo). Bounded: see memoize.
 */
export class ImageNames {
  readonly #sets = new WeakMap<readonly CompiledPolicy[], (image: string) => ImageName>();

  for(policies: readonly CompiledPolicy[]): (image: string) => ImageName {
    let names = this.#sets.get(policies);
    if (names === undefined) {
      names = memoize((image) => nameImage(image, policies, parseReference));
      this.#sets.set(policies, names);
    }
    return names;
  }
}

/** `image` named against `policies`: through the engine's memo where it has one and `parse` is the default. */
export function nameFor(
  image: string,
  policies: readonly CompiledPolicy[],
  names: ImageNames | undefined,
  parse: ((image: string) => ImageReference) | undefined,
): ImageName {
  if (names === undefined || parse !== undefined) return nameImage(image, policies, parse ?? parseReference);
  return names.for(policies)(image);
}
