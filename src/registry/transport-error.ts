/** A failed registry exchange as the coded error callers act on (deadline, timeout, outage). */
import { errorMessage, RegistryError } from '../errors.js';
import { plainHttpHint } from './plain-http.js';
import type { RequestUrl } from './request-url.js';

export function transportError(
  err: unknown,
  caller: AbortSignal,
  timeout: Pick<AbortSignal, 'aborted'> | undefined,
  what: string,
  url?: string | RequestUrl,
): RegistryError {
  if (err instanceof RegistryError) return err;
  if (caller.aborted) {
    const reason: unknown = caller.reason;
    if (reason instanceof RegistryError) return reason;
    return new RegistryError('TIMEOUT', `${what}: deadline reached`, { cause: err, indeterminate: true });
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (
    timeout?.aborted ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    code === 'UND_ERR_CONNECT_TIMEOUT'
  ) {
    return new RegistryError('TIMEOUT', `${what}: no answer in time`, { cause: err, indeterminate: true });
  }
  const plain = url !== undefined ? plainHttpHint(err, url) : undefined;
  return new RegistryError('REGISTRY_UNAVAILABLE', `${what}: ${plain ?? errorMessage(err)}`, {
    cause: err,
    indeterminate: true,
  });
}

export function tooLarge(what: string, maxBytes: number): RegistryError {
  return new RegistryError('RESPONSE_TOO_LARGE', `${what}: response is larger than ${maxBytes} bytes`);
}
