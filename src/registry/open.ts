/**
 * One entry point for image references as users write them: `oci:PATH[:TAG|@DIGEST]` reads a local
 * OCI layout, anything else goes to the registry. Both answer through RegistryAccess.
 */
import type { AccessOptions, Registry } from './client.js';
import { createLayoutAccess, isLayoutReference, parseLayoutReference } from './layout.js';
import { parseReference, type ImageReference } from './reference.js';
import type { RegistryAccess } from './types.js';

export interface OpenedImage {
  reference: ImageReference;
  access: RegistryAccess;
}

/** Throws INVALID_REFERENCE for a malformed reference; nothing is fetched yet. */
export function openImage(input: string, registry: Registry, options: AccessOptions = {}): OpenedImage {
  if (isLayoutReference(input)) {
    const { path, reference } = parseLayoutReference(input);
    return { reference, access: createLayoutAccess(path) };
  }
  return { reference: parseReference(input), access: registry.access(options) };
}
