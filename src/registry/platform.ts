/**
 * Platforms as a node's container runtime reads them. containerd (github.com/containerd/platforms)
 * normalises before it compares: case, `x86_64`/`x86-64` → amd64, `aarch64` → arm64, `armhf` →
 * arm/v7, default variants dropped or filled in. An index entry spelt `Linux/X86_64` is what a
 * linux/amd64 node runs, so imagegate selects (and checks) entries by the normalised form too; and
 * a node accepts older variants of its architecture (an arm/v7 node runs arm/v6 images), so every
 * entry it could fall back to is checked as well.
 */
import type { Platform } from './types.js';

export interface NormalPlatform {
  os: string;
  architecture: string;
  /** '' when the architecture's default (amd64 v1, arm64 v8) or none. */
  variant: string;
}

function normalOs(os: string): string {
  const lower = os.toLowerCase();
  return lower === 'macos' ? 'darwin' : lower;
}

/** Architecture and variant as containerd's normaliser leaves them. */
function normalArch(architecture: string, variant: string): [string, string] {
  const arch = architecture.toLowerCase();
  const v = variant.toLowerCase();
  switch (arch) {
    case 'i386':
      return ['386', ''];
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      return ['amd64', v === 'v1' ? '' : v];
    case 'aarch64':
    case 'arm64':
      return ['arm64', v === '8' || v === 'v8' ? '' : v];
    case 'armhf':
      return ['arm', 'v7'];
    case 'armel':
      return ['arm', 'v6'];
    case 'arm':
      if (v === '' || v === '7') return ['arm', 'v7'];
      if (v === '5' || v === '6' || v === '8') return ['arm', `v${v}`];
      return ['arm', v];
    default:
      return [arch, v];
  }
}

export function normalizePlatform(p: Platform): NormalPlatform {
  const [architecture, variant] = normalArch(p.architecture, p.variant ?? '');
  return { os: normalOs(p.os), architecture, variant };
}

/** `os/arch[/variant]` (a policy's selector or a formatted platform) as a Platform. */
export function parsePlatform(selector: string): Platform {
  const [os = '', architecture = '', variant] = selector.split('/');
  return { os, architecture, ...(variant !== undefined && variant !== '' ? { variant } : {}) };
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/** The normalised form, formatted: what two spellings of one platform have in common. */
export function canonicalPlatform(p: Platform): string {
  const n = normalizePlatform(p);
  return formatPlatform({
    os: n.os,
    architecture: n.architecture,
    ...(n.variant ? { variant: n.variant } : {}),
  });
}

/** `v7` → 7, `v8.2` → 8.2; NaN when the variant is not a version. */
function variantNumber(variant: string): number {
  return /^v\d+(\.\d+)?$/.test(variant) ? Number(variant.slice(1)) : Number.NaN;
}

/** The variant a default stands for, for ordering (amd64 '' = v1, arm64 '' = v8). */
function effectiveVariant(architecture: string, variant: string): string {
  if (variant !== '') return variant;
  if (architecture === 'amd64') return 'v1';
  if (architecture === 'arm64') return 'v8';
  return '';
}

/**
 * Whether a node of platform `selector` could run entry `p`: same normalised OS and architecture,
 * and (when the selector names a variant) the entry's variant is that one or an older one of the
 * same architecture (a node falls back to those when its own is not listed). Without a variant in
 * the selector every variant matches: the nodes of that platform differ.
 */
export function matchesPlatform(selector: string, p: Platform): boolean {
  const want = normalizePlatform(parsePlatform(selector));
  const have = normalizePlatform(p);
  if (want.os !== have.os || want.architecture !== have.architecture) return false;
  if (want.variant === '' && parsePlatform(selector).variant === undefined) return true;
  if (want.variant === have.variant) return true;
  const w = variantNumber(effectiveVariant(want.architecture, want.variant));
  const h = variantNumber(effectiveVariant(have.architecture, have.variant));
  return Number.isFinite(w) && Number.isFinite(h) && h <= w;
}
