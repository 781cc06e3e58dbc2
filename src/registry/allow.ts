/** The registry allowlist's one rule (`--allow-registry`, `allow:`; `*.suffix` entries). */
import { normaliseRegistryHost } from '../shared/docker-hub.js';

/** Is `registry` in the allowlist? Undefined allowlist allows everything. */
export function isRegistryAllowed(allow: readonly string[] | undefined, registry: string): boolean {
  if (allow === undefined) return true;
  const r = normaliseRegistryHost(registry);
  return allow.some((a) => {
    const entry = normaliseRegistryHost(a);
    if (entry.startsWith('*.')) return r.endsWith(entry.slice(1)) && r.length > entry.length - 1;
    return entry === r;
  });
}
