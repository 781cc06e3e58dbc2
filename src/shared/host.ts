/**
 * Registry host canonicalisation. A pod author chooses how to spell a registry; a policy author
 * chose a spelling too. Both are reduced to one form before anything compares them, so that
 * `Registry.Example.com.:443`, `127.1:5000` or `[::ffff:7f00:1]:5000` never slip past a policy on
 * `registry.example.com/**` or `127.0.0.1:5000/**`.
 *
 * Two levels:
 * - `canonicalHost` keeps the endpoint: every spelling it merges reaches the same socket address
 *   (ASCII case, a trailing dot, the https default port 443, IPv4 numbers as the WHATWG URL parser
 *   reads them — `127.1`, `0x7f.1`, `2130706433`, `127.000.000.001` — IPv6 compression, and
 *   IPv4-mapped IPv6 → IPv4). References are stored in this form, so the client connects to it.
 * - `policyHost` also folds the node's loopback names (`localhost`, `[::1]`) into `127.0.0.1`:
 *   they are different names for "this machine", and the issue's threat (#4) is exactly a pod
 *   naming the governed loopback registry another way. Used only for matching policies; other
 *   addresses of 127.0.0.0/8 stay distinct.
 */

const LOOPBACK = '127.0.0.1';

/** `[::ffff:7f00:1]` (as the URL parser prints IPv4-mapped addresses) → `127.0.0.1`. */
function unmapIPv4(hostname: string): string {
  const m = /^\[::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})\]$/.exec(hostname);
  if (m === null) return hostname;
  const hi = parseInt(m[1]!, 16);
  const lo = parseInt(m[2]!, 16);
  return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
}

/**
 * The canonical `host[:port]` of a registry, or undefined when the WHATWG URL parser refuses the
 * host (a port above 65535, a dotted name ending in a number that is not an IPv4 address, …).
 * `host` must already be a syntactically plausible HOST[:PORT] (no scheme, no path).
 */
export function canonicalHost(host: string): string | undefined {
  if (host.length === 0 || /[/?#@\\\s]/.test(host)) return undefined;
  let url: URL;
  try {
    url = new URL(`https://${host}/`);
  } catch {
    return undefined;
  }
  if (url.username !== '' || url.password !== '' || url.hostname === '') return undefined;
  let hostname = unmapIPv4(url.hostname);
  // One trailing dot names the same DNS name (the resolver treats it as already absolute).
  if (hostname.endsWith('.') && !hostname.startsWith('[')) hostname = hostname.slice(0, -1);
  if (hostname === '' || hostname.endsWith('.')) return undefined;
  if (hostname === 'index.docker.io' || hostname === 'registry-1.docker.io') hostname = 'docker.io';
  // url.port is '' for the scheme's default (443): `host:443` and `host` are one registry.
  return url.port === '' ? hostname : `${hostname}:${url.port}`;
}

/** True for the names this machine answers on loopback with certainty. */
function isLoopbackName(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || hostname === LOOPBACK;
}

/**
 * The host as policies see it: `canonicalHost`, then `localhost`/`[::1]` → `127.0.0.1`. Falls
 * back to the lowercase input when the host does not parse (it then only matches itself).
 */
export function policyHost(host: string): string {
  const canonical = canonicalHost(host) ?? host.toLowerCase();
  const colon = canonical.lastIndexOf(':');
  const hasPort = colon > canonical.lastIndexOf(']');
  const hostname = hasPort ? canonical.slice(0, colon) : canonical;
  if (!isLoopbackName(hostname)) return canonical;
  return hasPort ? `${LOOPBACK}${canonical.slice(colon)}` : LOOPBACK;
}

/** `host/rest` with its host replaced by `policyHost(host)`; the subject globs are matched against. */
export function withPolicyHost(name: string): string {
  const slash = name.indexOf('/');
  if (slash < 0) return name;
  return `${policyHost(name.slice(0, slash))}${name.slice(slash)}`;
}
