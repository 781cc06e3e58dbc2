/**
 * Debian packages for the base: apt's candidate version, the .deb fetched with `apt-get download`
 * into build/cache/debs (checked against the SHA256 in apt's index), and its files read from
 * `dpkg-deb --fsys-tarfile` as tar entries.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DEBIAN } from './definition.js';
import { run } from './exec.js';
import { readTar, type TarEntry } from './tar.js';

export interface DebInfo {
  name: string;
  version: string;
  architecture: string;
  sha256: string;
  /** Path of the .deb in the cache. */
  file: string;
}

/** `Key: value` fields of one control stanza (continuation lines appended). */
export function parseControl(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let last: string | undefined;
  for (const line of text.split('\n')) {
    if (line === '') break;
    if (/^\s/.test(line) && last !== undefined) out[last] += `\n${line}`;
    else {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      last = line.slice(0, colon);
      out[last] = line.slice(colon + 1).trim();
    }
  }
  return out;
}

/** apt's candidate of each package (one `apt-cache show`: it takes seconds to load its cache). */
export async function candidates(names: readonly string[]): Promise<Map<string, Omit<DebInfo, 'file'>>> {
  const args = ['show', '--no-all-versions', ...names.map((n) => `${n}:${DEBIAN.arch}`)];
  const out = new Map<string, Omit<DebInfo, 'file'>>();
  for (const stanza of (await run('apt-cache', args)).toString().split(/\n\n+/)) {
    const f = parseControl(stanza);
    if (f.Package === undefined || f.Version === undefined || f.SHA256 === undefined) continue;
    out.set(f.Package, {
      name: f.Package,
      version: f.Version,
      architecture: f.Architecture ?? DEBIAN.arch,
      sha256: f.SHA256,
    });
  }
  for (const n of names)
    if (!out.has(n)) throw new Error(`apt-cache has no candidate for ${n} (run apt-get update)`);
  return out;
}

async function sha256File(file: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
}

/** The candidate .deb of `name`, downloaded only when the cache lacks it. */
export async function fetchDeb(info: Omit<DebInfo, 'file'>, cacheDir: string): Promise<DebInfo> {
  const { name } = info;
  const dir = join(cacheDir, 'debs');
  const file = join(dir, `${name}_${info.version.replace(/:/g, '%3a')}_${info.architecture}.deb`);
  if (!existsSync(file) || (await sha256File(file)) !== info.sha256) {
    await mkdir(dir, { recursive: true });
    const tmp = await mkdtemp(join(dir, '.download-'));
    try {
      await run('apt-get', ['download', '-qq', `${name}:${info.architecture}=${info.version}`], { cwd: tmp });
      const [got] = (await readdir(tmp)).filter((f) => f.endsWith('.deb'));
      if (got === undefined) throw new Error(`apt-get download ${name} wrote no .deb`);
      const actual = await sha256File(join(tmp, got));
      if (actual !== info.sha256)
        throw new Error(
          `${name} ${info.version}: downloaded sha256 ${actual}, apt's index says ${info.sha256}`,
        );
      await rename(join(tmp, got), file);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }
  return { ...info, file };
}

export async function debEntries(deb: DebInfo): Promise<TarEntry[]> {
  return readTar(await run('dpkg-deb', ['--fsys-tarfile', deb.file], { maxBuffer: 512 << 20 }));
}

/** The control stanza, as dpkg writes it into /var/lib/dpkg/status.d/NAME for scanners. */
export async function debControl(deb: DebInfo): Promise<string> {
  const text = (await run('dpkg-deb', ['-f', deb.file])).toString();
  return text.endsWith('\n') ? text : `${text}\n`;
}
