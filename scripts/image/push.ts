/**
 * Pushes the base and the image with Debian's skopeo, digests preserved (the base first, so the
 * image's base.name annotation resolves as soon as the image exists).
 */
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { BuildResult, BuiltLayout } from './build.js';
import { run } from './exec.js';

const existsOnPath = (bin: string): boolean =>
  (process.env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && existsSync(join(dir, bin)));

/** Loopback registries speak plain HTTP in tests and on developer machines. */
export function isLoopbackRegistry(name: string): boolean {
  const host = name.slice(0, name.indexOf('/'));
  return /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/.test(host);
}

export async function pushLayout(layout: BuiltLayout, insecure: boolean): Promise<void> {
  if (!existsOnPath('skopeo'))
    throw new Error(
      'pushing needs skopeo (apt-get install skopeo), or copy build/image yourself (docs/operations.md)',
    );
  await run('skopeo', [
    'copy',
    '--quiet',
    '--preserve-digests',
    `--dest-tls-verify=${insecure ? 'false' : 'true'}`,
    `oci:${layout.dir}:${layout.tag}`,
    `docker://${layout.name}:${layout.tag}`,
  ]);
}

export async function pushBuild(
  result: BuildResult,
  insecure = isLoopbackRegistry(result.image.name),
): Promise<void> {
  await pushLayout(result.base, insecure);
  await pushLayout(result.image, insecure);
}
