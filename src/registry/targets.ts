/**
 * Where a registry may send imagegate: token realms and redirect targets are registry-controlled
 * URLs, so each is checked before any connection. Loopback, link-local and unspecified addresses are
 * refused unless the registry itself is there; with an allowlist, a token realm must be the registry,
 * a configured mirror, an allowed registry or an `allowAuth` host; credentials never travel over
 * plain HTTP to another host (another port of the registry's own host name is the same host).
 */
import { lookup as dnsLookupCallback, type LookupOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { RegistryError } from '../errors.js';
import { isRegistryAllowed, type RegistryOptions } from './options.js';

const blocked = new BlockList();
blocked.addSubnet('127.0.0.0', 8, 'ipv4'); // loopback
blocked.addSubnet('169.254.0.0', 16, 'ipv4'); // link-local (cloud metadata services)
blocked.addSubnet('0.0.0.0', 8, 'ipv4'); // "this network", unspecified
blocked.addAddress('::1', 'ipv6');
blocked.addAddress('::', 'ipv6');
blocked.addSubnet('fe80::', 10, 'ipv6');

/**
 * Cloud metadata services outside the link-local range: AWS's IPv6 endpoint (IMDS over IPv6) and
 * Alibaba Cloud's IPv4 one. 169.254.169.254 (AWS, GCP, Azure, OCI) is link-local already.
 */
const metadata = new BlockList();
metadata.addAddress('fd00:ec2::254', 'ipv6');
metadata.addAddress('100.100.100.200', 'ipv4');

/** Token services of well-known registries that live on another host than the API. */
const BUILTIN_AUTH_HOSTS: Readonly<Record<string, readonly string[]>> = {
  'registry-1.docker.io': ['auth.docker.io'],
};

/**
 * `loopback`, `link-local`, `unspecified` or `metadata` for such addresses (and `localhost` names,
 * with or without the trailing dot of an absolute DNS name), else undefined.
 */
export function addressClass(hostname: string): string | undefined {
  let h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (h.endsWith('.')) h = h.slice(0, -1); // `localhost.` is the same name, absolute
  if (h === 'localhost' || h.endsWith('.localhost')) return 'loopback';
  const family = isIP(h);
  if (family === 0) return undefined;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (metadata.check(h, type)) return 'metadata';
  if (!blocked.check(h, type)) {
    return h.startsWith('::ffff:') && isIP(mappedV4(h)) === 4 ? addressClass(mappedV4(h)) : undefined;
  }
  if (family === 4) {
    if (h.startsWith('127.')) return 'loopback';
    if (h.startsWith('169.254.')) return 'link-local';
    return 'unspecified';
  }
  if (h === '::1') return 'loopback';
  if (h === '::') return 'unspecified';
  if (h.startsWith('::ffff:')) return addressClass(mappedV4(h));
  return 'link-local';
}

/** `::ffff:7f00:1` → `127.0.0.1` (URL parsing already writes mapped addresses in hex). */
function mappedV4(h: string): string {
  const tail = h.slice('::ffff:'.length);
  if (isIP(tail) === 4) return tail;
  const [hi = '0', lo = '0'] = tail.split(':');
  const a = parseInt(hi, 16);
  const b = parseInt(lo, 16);
  return `${a >> 8}.${a & 255}.${b >> 8}.${b & 255}`;
}

/** Address classes imagegate never contacts as a registry unless the operator names the host. */
export function isRefusedHostClass(cls: string | undefined): boolean {
  return cls === 'link-local' || cls === 'unspecified' || cls === 'metadata';
}

/**
 * Refuses a URL on a loopback/link-local/unspecified/metadata address unless the registry itself is on such an
 * address (a registry on 127.0.0.1 may send imagegate to localhost, never to 169.254.169.254).
 */
function assertAddressAllowed(
  url: URL,
  registryUrl: Pick<URL, 'hostname' | 'host'>,
  what: string,
  code: RegistryError['code'],
): void {
  if (url.hostname === registryUrl.hostname) return;
  const cls = addressClass(url.hostname);
  if (cls === undefined || cls === addressClass(registryUrl.hostname)) return;
  throw new RegistryError(
    code,
    `${what}: ${url.host} is a ${cls} address and the registry (${registryUrl.host}) is not; ` +
      `imagegate only follows a registry to such addresses when the registry itself is there`,
  );
}

export function assertRedirectAllowed(
  next: URL,
  registryUrl: Pick<URL, 'hostname' | 'host'>,
  what: string,
): void {
  assertAddressAllowed(next, registryUrl, `${what}: redirect`, 'REDIRECT_REFUSED');
}

/**
 * Checks a token realm before any connection. `endpoint` is the host imagegate asked (a registry or
 * one of its mirrors), `registryUrl` its API base URL.
 */
export function assertRealmAllowed(
  realm: URL,
  registryUrl: URL,
  endpoint: string,
  options: Pick<RegistryOptions, 'allow' | 'allowAuth' | 'registries'>,
  sendsBasic: boolean,
  what: string,
): void {
  assertAddressAllowed(realm, registryUrl, `${what}: token realm`, 'AUTH_TARGET_REFUSED');
  const sameHost = realm.host === registryUrl.host;
  if (!sameHost && options.allow !== undefined) {
    const mirrors = Object.values(options.registries ?? {}).flatMap((r) => r.mirrors ?? []);
    const ok =
      (BUILTIN_AUTH_HOSTS[registryUrl.host] ?? []).includes(realm.host) ||
      mirrors.includes(realm.host) ||
      isRegistryAllowed(options.allow, realm.host) ||
      (options.allowAuth !== undefined && isRegistryAllowed(options.allowAuth, realm.host));
    if (!ok) {
      throw new RegistryError(
        'AUTH_TARGET_REFUSED',
        `${what}: registry ${endpoint} names token realm host ${realm.host}, which is not the registry, ` +
          `a mirror, an allowed registry or an allowAuth host (--allow-auth-host)`,
      );
    }
  }
  // a token service on another port of the registry's own machine (the usual insecure dev set-up) is fine
  if (sendsBasic && realm.protocol === 'http:' && realm.hostname !== registryUrl.hostname) {
    throw new RegistryError(
      'AUTH_TARGET_REFUSED',
      `${what}: refusing to send credentials for ${endpoint} over plain HTTP to another host (${realm.host})`,
    );
  }
}

// dns.lookup's overloads do not narrow to one callback shape; this is the one net.connect uses
const dnsLookup = dnsLookupCallback as unknown as LookupFunction;

type LookupAddress = { address: string; family: number };
type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;
/** The shape of `dns.lookup` as net.connect calls it (options object; `all` with autoSelectFamily). */
export type LookupFunction = (hostname: string, options: LookupOptions, callback: LookupCallback) => void;

/**
 * A `lookup` for the registry agents: a host name that resolves to a link-local or unspecified address
 * (cloud metadata by DNS) is refused before connecting, unless the operator named that host
 * (`isNamed`). Loopback answers stay allowed (a registry on localhost is a normal local set-up); IP
 * literals never reach a lookup and are checked on the URL.
 */
export function guardedLookup(
  isNamed: (host: string) => boolean,
  base: LookupFunction = dnsLookup,
): LookupFunction {
  return (hostname, options, callback) => {
    base(hostname, options, (err, address, family) => {
      if (err !== null || isNamed(hostname)) return callback(err, address, family);
      const list = typeof address === 'string' ? [{ address, family: family ?? 4 }] : address;
      const bad = list.find((a) => {
        const cls = addressClass(a.address);
        return cls !== undefined && cls !== 'loopback';
      });
      if (bad !== undefined) {
        const refused: NodeJS.ErrnoException = new Error(
          `${hostname} resolves to ${bad.address}, a ${addressClass(bad.address)} address: not contacted`,
        );
        refused.code = 'EADDRNOTAVAIL';
        return callback(refused, address, family);
      }
      callback(null, address, family);
    });
  };
}
