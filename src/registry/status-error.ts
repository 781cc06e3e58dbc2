/** Maps a registry's HTTP status to the coded error callers and tests rely on. */
import { RegistryError, withoutStack, type RegistryErrorCode } from '../errors.js';
import { describeErrorBody } from './http.js';

/** What to do about a registry that refuses imagegate: it needs the credentials the kubelet pulls with. */
export const CREDENTIALS_FIX =
  'give imagegate credentials for this registry (the pod’s imagePullSecrets with --pull-secrets, or ' +
  'credentials/dockerConfig in --registry-config)';

/**
 * A registry that refuses imagegate (401/403, no usable challenge or token): the registry's own
 * answer, not an outage, so a completed finding (denied in enforce mode whatever `onError` says).
 * Otherwise a registry that serves the kubelet and refuses imagegate would be admitted unchecked.
 */
export function refused(what: string, answer: string): RegistryError {
  return new RegistryError(
    'UNAUTHORIZED',
    `${what}: the registry refused imagegate (${answer}), so the image cannot be checked and is ` +
      `denied; ${CREDENTIALS_FIX}`,
  );
}

/**
 * `notFound` names what a 404 means here; only a missing manifest is a determinate answer. Only
 * availability (429, 5xx) is indeterminate; any other status is the registry's answer.
 */
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
  if (status === 401 || status === 403) return refused(what, `HTTP ${status}${detail}`);
  if (status === 429)
    return new RegistryError('RATE_LIMITED', `${what}: rate limited (HTTP 429)`, { indeterminate: true });
  if (status >= 500)
    return new RegistryError('REGISTRY_UNAVAILABLE', `${what}: HTTP ${status}${detail}`, {
      indeterminate: true,
    });
  return new RegistryError(
    'REGISTRY_ERROR',
    `${what}: the registry answered HTTP ${status}${detail} where imagegate expected 200, so the image ` +
      `cannot be checked and is denied (only 429, 5xx and network failures are left to onError)`,
  );
}

/** A refusal or unexpected answer from one endpoint: a mirror's is worth trying the next endpoint for. */
export function isRefusal(err: unknown): boolean {
  return err instanceof RegistryError && (err.code === 'UNAUTHORIZED' || err.code === 'REGISTRY_ERROR');
}

/** A tag the registry answered 404 for, with the start of its body (for a message, if one is made). */
export class NoSuchTag {
  constructor(readonly body: string) {}
}

/** The MANIFEST_UNKNOWN error of a tag the registry answered 404 for (its body described). */
export function noSuchTagError(what: string, missing: NoSuchTag): RegistryError {
  return statusError(404, what, describeErrorBody(missing.body), 'MANIFEST_UNKNOWN');
}

/** `found`, or undefined for a tag the registry does not have. */
export function orUndefined<T>(found: T | NoSuchTag): T | undefined {
  return found instanceof NoSuchTag ? undefined : found;
}
