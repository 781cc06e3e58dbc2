/** Turning "the registry answered TLS with plain text" into the flag that fixes it. */

/** OpenSSL's codes when the peer answers a TLS ClientHello with plain text (an HTTP server). */
const PLAIN_TEXT_TLS_CODES = new Set([
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_PACKET_LENGTH_TOO_LONG',
  'ERR_SSL_HTTP_REQUEST',
]);

/**
 * The action to take instead of OpenSSL's text, when an https request failed because the registry
 * speaks plain HTTP (the usual local `docker-registry`); undefined for any other failure.
 */
export function plainHttpHint(
  err: unknown,
  url: string | Pick<URL, 'protocol' | 'host'>,
): string | undefined {
  const u = typeof url === 'string' ? new URL(url) : url;
  if (u.protocol !== 'https:') return undefined;
  for (let e: unknown = err, depth = 0; e !== null && typeof e === 'object' && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && PLAIN_TEXT_TLS_CODES.has(code)) {
      return `${u.host} answered the TLS handshake in plain text: this registry speaks plain HTTP: add --insecure-registry ${u.host} (or insecure: true for it in --registry-config) if plain HTTP to it is intended`;
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
