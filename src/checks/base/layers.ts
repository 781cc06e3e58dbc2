/**
 * The layer proof and the age limit, as pure functions. The proof compares uncompressed layer
 * digests (config `rootfs.diff_ids`), never compressed ones: re-compressing a layer changes its blob
 * digest but not its diff_id.
 */
import { ConfigError } from '../../errors.js';
import type { ImageConfigJson } from '../../registry/types.js';
import { DURATION_UNIT_MS, parseDurationMs } from '../../shared/duration.js';

export type PrefixResult = { ok: true; baseLayers: number } | { ok: false; reason: string };

/** `sha256:0123456789ab…` */
export function shortDigest(d: string): string {
  const [alg, hex = ''] = d.split(':');
  return hex.length > 12 ? `${alg}:${hex.slice(0, 12)}…` : d;
}

function diffIds(config: ImageConfigJson): string[] {
  const ids = config.rootfs?.diff_ids;
  return Array.isArray(ids) ? ids.filter((d): d is string => typeof d === 'string') : [];
}

/** Is the base config's diff_ids list an exact prefix of the image config's? */
export function checkLayerPrefix(image: ImageConfigJson, base: ImageConfigJson): PrefixResult {
  const img = diffIds(image);
  const bas = diffIds(base);
  if (bas.length === 0) {
    return { ok: false, reason: 'the base has no layers (diff_ids empty): nothing to prove' };
  }
  for (const [i, b] of bas.entries()) {
    const m = img[i];
    if (m === undefined) {
      return {
        ok: false,
        reason: `the image has ${img.length} layer${img.length === 1 ? '' : 's'}, the base ${bas.length}: the image is not built on the claimed base`,
      };
    }
    if (m !== b) {
      return {
        ok: false,
        reason: `image diff_ids[${i}] ${shortDigest(m)} ≠ base diff_ids[${i}] ${shortDigest(b)} — the image is not built on the claimed base`,
      };
    }
  }
  return { ok: true, baseLayers: bas.length };
}

const UNIT_MS = DURATION_UNIT_MS;

/** `30d` → milliseconds (the schema allows s, m, h, d, w). */
export function parseMaxAge(value: string, where: string): number {
  const ms = parseDurationMs(value, { units: ['s', 'm', 'h', 'd', 'w'], fractions: false });
  if (ms === undefined) {
    throw new ConfigError('POLICY_INVALID', `${where}: "${value}" is not a duration like 30d`);
  }
  if (!Number.isSafeInteger(ms) || ms <= 0) {
    throw new ConfigError('POLICY_INVALID', `${where}: "${value}" must be a positive duration`);
  }
  return ms;
}

/** `3d 4h` style age for messages. */
export function formatAge(ms: number): string {
  const days = Math.floor(ms / UNIT_MS.d);
  const hours = Math.floor((ms % UNIT_MS.d) / UNIT_MS.h);
  if (days > 0) return `${days}d ${hours}h`;
  const minutes = Math.floor((ms % UNIT_MS.h) / UNIT_MS.m);
  return `${hours}h ${minutes}m`;
}
