/**
 * The base image's layers: one per Debian package (filtered by the definition's drop/keep globs),
 * then one for what a package manager or postinst would have written: users and groups, the CA
 * bundle, /tmp, dpkg status for scanners.
 */
import { DEBIAN_PACKAGES, DROP_EVERYWHERE, KEEP_EVERYWHERE, USERS } from './definition.js';
import { candidates, debControl, debEntries, fetchDeb, type DebInfo } from './deb.js';
import { anyGlob } from './glob.js';
import type { TarEntry } from './tar.js';

export interface PackageLayer {
  deb: DebInfo;
  entries: TarEntry[];
}

const CA_DIR = 'usr/share/ca-certificates/';
export const CA_BUNDLE = 'etc/ssl/certs/ca-certificates.crt';
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const file = (path: string, data: Uint8Array | string, mode = 0o644, owner = 0): TarEntry => ({
  path,
  type: 'file',
  mode,
  uid: owner,
  gid: owner,
  data: typeof data === 'string' ? text(data) : data,
});
const dir = (path: string, mode = 0o755, owner = 0): TarEntry => ({
  path,
  type: 'dir',
  mode,
  uid: owner,
  gid: owner,
});

export async function packageLayers(cacheDir: string): Promise<PackageLayer[]> {
  const keep = anyGlob(KEEP_EVERYWHERE);
  const versions = await candidates(DEBIAN_PACKAGES.map((p) => p.name));
  const out: PackageLayer[] = [];
  for (const pkg of DEBIAN_PACKAGES) {
    const deb = await fetchDeb(versions.get(pkg.name)!, cacheDir);
    const drop = anyGlob([...DROP_EVERYWHERE, ...(pkg.drop ?? [])]);
    // files belong to root, whatever the package's tar says
    const entries = (await debEntries(deb))
      .filter((e) => keep(e.path) || !drop(e.path))
      .map((e) => ({ ...e, uid: 0, gid: 0 }));
    out.push({ deb, entries });
  }
  return out;
}

/**
 * `update-ca-certificates` without a shell: every certificate the package ships (all are enabled by
 * default in Debian), in path order, each ending with a newline.
 */
export function caBundle(packages: readonly PackageLayer[]): Uint8Array {
  const certs = packages
    .flatMap((p) => p.entries)
    .filter((e) => e.type === 'file' && e.path.startsWith(CA_DIR) && e.path.endsWith('.crt'))
    .sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
  if (certs.length === 0)
    throw new Error(`no certificates under /${CA_DIR}: is ca-certificates in the definition?`);
  const chunks = certs.map((c) => {
    const pem = Buffer.from(c.data ?? new Uint8Array()).toString('utf8');
    return pem.endsWith('\n') ? pem : `${pem}\n`;
  });
  return text(chunks.join(''));
}

export async function systemEntries(packages: readonly PackageLayer[]): Promise<TarEntry[]> {
  const status = await Promise.all(
    packages.map(async (p) => file(`var/lib/dpkg/status.d/${p.deb.name}`, await debControl(p.deb))),
  );
  return [
    file('etc/passwd', `${USERS.passwd.join('\n')}\n`),
    file('etc/group', `${USERS.group.join('\n')}\n`),
    file('etc/nsswitch.conf', 'passwd: files\ngroup: files\nhosts: files dns\n'),
    file(CA_BUNDLE, caBundle(packages)),
    dir('tmp', 0o1777),
    dir('root', 0o700),
    dir(USERS.home, 0o700, USERS.uid),
    ...status,
  ];
}
