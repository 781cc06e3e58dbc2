/**
 * Tar entries → one reproducible OCI layer: parents added, entries sorted bytewise, fixed mtime, tar
 * hashed (diff_id), gzip at a fixed level. Compressed layers are cached by diff_id, so an unchanged
 * layer is never compressed twice.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync, gzip } from 'node:zlib';
import { writeTar, type TarEntry } from './tar.js';

const gzipAsync = promisify(gzip);

export interface Layer {
  /** sha256 of the compressed blob. */
  digest: string;
  /** sha256 of the uncompressed tar. */
  diffId: string;
  size: number;
  blob: Buffer;
  /** What made it (the config's history `created_by`). */
  createdBy: string;
}

export interface LayerOptions {
  mtime: number;
  level: number;
  /** Compressed layers by diff_id; undefined: always compress. */
  cacheDir: string | undefined;
}

const sha256 = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Adds missing parent directories (0755 root) and sorts; a path given twice is an error. */
export function normalizeEntries(entries: readonly TarEntry[]): TarEntry[] {
  const byPath = new Map<string, TarEntry>();
  for (const e of entries) {
    if (byPath.has(e.path)) throw new Error(`layer lists ${e.path} twice`);
    byPath.set(e.path, e);
  }
  for (const e of entries) {
    for (let i = e.path.lastIndexOf('/'); i > 0; i = e.path.lastIndexOf('/', i - 1)) {
      const parent = e.path.slice(0, i);
      if (!byPath.has(parent)) byPath.set(parent, { path: parent, type: 'dir', mode: 0o755, uid: 0, gid: 0 });
    }
  }
  const cmp = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));
  return [...byPath.values()].sort((a, b) => cmp(a.path, b.path));
}

export async function toLayer(
  entries: readonly TarEntry[],
  createdBy: string,
  o: LayerOptions,
): Promise<Layer> {
  const tar = writeTar(normalizeEntries(entries), o.mtime);
  const diffId = sha256(tar);
  const cached = o.cacheDir === undefined ? undefined : join(o.cacheDir, `${diffId.slice(7)}.gz${o.level}`);
  let blob: Buffer | undefined;
  if (cached !== undefined && existsSync(cached)) {
    blob = await readFile(cached);
    // a cache entry that does not inflate to this tar is rebuilt
    if (sha256(gunzipSync(blob)) !== diffId) blob = undefined;
  }
  if (blob === undefined) {
    blob = await gzipAsync(tar, { level: o.level });
    if (cached !== undefined && o.cacheDir !== undefined) {
      await mkdir(o.cacheDir, { recursive: true });
      await writeFile(`${cached}.tmp`, blob);
      await rename(`${cached}.tmp`, cached);
    }
  }
  return { digest: sha256(blob), diffId, size: blob.length, blob, createdBy };
}
