/** Maps a registry's HTTP status to the coded error callers and tests rely on. */
import { RegistryError, withoutStack, type RegistryErrorCode } from '../errors.js';

/** `notFound` names what a 404 means here; only a missing manifest is a determinate answer. */
export function statusError(
  status: number,
  what: string,
  body: string,
  notFound: RegistryErrorCode,
): RegistryError {
  const detail = body ? ` (${body})` : '';
  // A missing manifest is an expected answer (no `.att` tag, no referrers): no stack trace.
  if (status === 404 && notFound === 'MANIFEST_UNKNOWN')
    return withoutStack(() => new RegistryError(notFound, `${what}: not found${detail}`));
  if (status === 404)
    return new RegistryError(notFound, `${what}: not found${detail}`, { indeterminate: true });
  if (status === 401 || status === 403)
    return new RegistryError('UNAUTHORIZED', `${what}: access denied (HTTP ${status})${detail}`, {
      indeterminate: true,
    });
  if (status === 429)
    return new RegistryError('RATE_LIMITED', `${what}: rate limited (HTTP 429)`, { indeterminate: true });
  if (status >= 500)
    return new RegistryError('REGISTRY_UNAVAILABLE', `${what}: HTTP ${status}${detail}`, {
      indeterminate: true,
    });
  return new RegistryError('REGISTRY_ERROR', `${what}: unexpected HTTP ${status}${detail}`, {
    indeterminate: true,
  });
}
