/**
 * An image config's `rootfs.diff_ids` must be layer digests (`sha256:` and 64 lowercase hex digits):
 * the base-image check proves "built on this base" by comparing them as exact strings, so free text
 * there ("base", "", "sha256:xyz") would let two configs agree on nothing checkable. A config with
 * one that is not is malformed content, refused where it is parsed (content.ts: parseConfig).
 */
import { RegistryError } from '../errors.js';
import type { ImageConfigJson } from './types.js';

const DIFF_ID = /^sha256:[0-9a-f]{64}$/;

/** Throws REGISTRY_CONTENT_INVALID naming the first diff_id that is not a sha256 digest. */
export function assertDiffIds(config: ImageConfigJson, what: string): void {
  const ids = config.rootfs?.diff_ids;
  if (ids === undefined || ids === null) return;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (DIFF_ID.test(id)) continue;
    const found =
      id.length > 80 ? `${JSON.stringify(id.slice(0, 80))}… (${id.length} characters)` : JSON.stringify(id);
    throw new RegistryError(
      'REGISTRY_CONTENT_INVALID',
      `${what}: the registry served a malformed image config: rootfs.diff_ids[${i}] is ${found}, ` +
        `wanted a layer digest (sha256: and 64 lowercase hex digits, the uncompressed layer's digest ` +
        `the base-image check compares); ask the image's publisher to rebuild it`,
    );
  }
}
