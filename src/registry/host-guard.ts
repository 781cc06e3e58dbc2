/**
 * Whether imagegate may contact a registry at all: the operator's allowlist, and never a metadata,
 * link-local or other refused address class unless the operator named that host.
 */
import { RegistryError } from '../errors.js';
import { isRegistryAllowed } from './allow.js';
import { addressClass, isRefusedHostClass } from './targets.js';

/**
 * Throws REGISTRY_NOT_ALLOWED for a registry outside `allow` or at a refused address class.
 * `label` is the registry's metrics label: `other` when the operator did not name it.
 */
export function assertRegistryAllowed(
  allow: readonly string[] | undefined,
  registry: string,
  what: string,
  label: string,
): void {
  if (!isRegistryAllowed(allow, registry)) {
    throw new RegistryError(
      'REGISTRY_NOT_ALLOWED',
      `${what}: registry ${registry} is not in the allowlist of registries imagegate may contact`,
      { indeterminate: true },
    );
  }
  // a pod naming 169.254.169.254/x:1 must not make imagegate connect there (no allowlist needed);
  // an image nobody may fetch cannot be checked, so it is denied, not left to onError
  const cls = addressClass(apiHostname(registry));
  if (isRefusedHostClass(cls) && label === 'other') {
    throw new RegistryError(
      'REGISTRY_NOT_ALLOWED',
      `${what}: registry ${registry} is a ${cls} address; imagegate contacts one only when the ` +
        'operator names it (--allow-registry, --insecure-registry or registries: in --registry-config)',
    );
  }
}

/** The host name of `host[:port]` (an IPv6 literal keeps its brackets). */
export function apiHostname(registry: string): string {
  try {
    return new URL(`https://${registry}`).hostname;
  } catch {
    return registry;
  }
}
