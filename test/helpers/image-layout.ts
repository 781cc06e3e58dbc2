/** Reading what `npm run image` wrote, and judging it with `imagegate check --output json`. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BuiltLayout } from '../../scripts/image/build.js';
import { imagegate } from './cli.js';
import { IS_ROOT, type ImageConfig } from './image-rootfs.js';

/** A JSON blob (config, manifest) of a built layout, read from its blobs directory. */
export function blobJson(layout: BuiltLayout, digest: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(layout.dir, 'blobs', 'sha256', digest.slice(7)), 'utf8')) as Record<
    string,
    unknown
  >;
}

export function configOf(layout: BuiltLayout): { config: ImageConfig; rootfs: { diff_ids: string[] } } {
  return blobJson(layout, layout.image.config.digest) as {
    config: ImageConfig;
    rootfs: { diff_ids: string[] };
  };
}

/** True as root; otherwise prints why a chroot step is skipped (CI runs as root). */
export function requireRoot(what: string): boolean {
  if (!IS_ROOT) process.stdout.write(`NOTICE: skipped "${what}": chroot needs root (CI runs as root)\n`);
  return IS_ROOT;
}

interface CheckOutput {
  images: Array<{ policies: Array<{ findings: Array<{ check: string; code: string; message: string }> }> }>;
}

/** `imagegate check --output json ARGS` for one image under one policy: exit code and each check's code. */
export async function checkJson(args: string[]): Promise<{
  code: number | null;
  codes: Record<string, string>;
  findings: Array<{ check: string; code: string; message: string }>;
}> {
  const r = await imagegate(['check', '--output', 'json', ...args]);
  let out: CheckOutput;
  try {
    out = JSON.parse(r.stdout) as CheckOutput;
  } catch {
    throw new Error(`imagegate check printed no JSON (exit ${r.code}): ${r.stdout}${r.stderr}`);
  }
  const findings = out.images[0]?.policies[0]?.findings ?? [];
  return { code: r.code, codes: Object.fromEntries(findings.map((f) => [f.check, f.code])), findings };
}
