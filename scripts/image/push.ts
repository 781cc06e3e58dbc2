/**
 * Pushes the base and the image with Debian's skopeo, digests preserved (the base first, so the
 * image's base.name annotation resolves as soon as the image exists).
 */
import type { BuildResult, BuiltLayout } from './build.js';
import { run } from './exec.js';

/** Loopback registries speak plain HTTP in tests and on developer machines. */
export function isLoopbackRegistry(name: string): boolean {
  const host = name.slice(0, name.indexOf('/'));
  return /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/.test(host);
}

export async function pushLayout(layout: BuiltLayout, insecure: boolean): Promise<void> {
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
