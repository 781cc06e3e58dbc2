/**
 * The size check: compressed size (config + layers of the platform manifest) and layer count, per
 * checked platform. A denial names the three heaviest layers and the build step that made each.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { HistoryEntry, PlatformImage } from '../registry/types.js';
import { defineCheck, type Check, type CheckInput, type Finding } from './check.js';
import { formatBytes, parseQuantity, Quantity } from './quantity.js';

/** The `size` policy section (also the CRD's, through policy.schema.ts). */
export const SizeSpec = Type.Object(
  {
    maxCompressed: Type.Optional(Quantity),
    maxLayers: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000 })),
  },
  { additionalProperties: false },
);
export type SizeSpec = Static<typeof SizeSpec>;

export interface PlatformSize {
  platform: string;
  digest: string;
  compressedBytes: number;
  layers: number;
}

export interface HeavyLayer {
  /** 1-based position in the manifest. */
  index: number;
  bytes: number;
  createdBy: string | undefined;
}

/** How much of a registry-controlled build step is read; only 120 characters are shown. */
const MAX_STEP_CHARS = 4096;
const BUILDKIT_SUFFIX = '# buildkit';

/**
 * `created_by` as `docker history` shows it, without shell and BuildKit noise. Linear in the input:
 * the suffix is cut with endsWith (an unanchored `\s*…$` regexp is quadratic on a long run of
 * spaces) and the text is cut to MAX_STEP_CHARS before any regexp runs.
 */
export function cleanBuildStep(createdBy: string | undefined): string | undefined {
  if (createdBy === undefined) return undefined;
  let s = createdBy.trim();
  if (s.endsWith(BUILDKIT_SUFFIX)) s = s.slice(0, -BUILDKIT_SUFFIX.length).trimEnd();
  s = s.slice(0, MAX_STEP_CHARS);
  s = s.replace(/^\/bin\/sh -c #\(nop\)\s*/, '');
  s = s.replace(/^\/bin\/sh -c /, 'RUN ');
  s = s.replace(/^RUN \/bin\/sh -c /, 'RUN ');
  s = s.replace(/\s+/g, ' ').trim();
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

/** History entries that made a layer, in layer order; undefined when they cannot be matched to layers. */
export function layerSteps(
  history: HistoryEntry[] | null | undefined,
  layerCount: number,
): Array<string | undefined> {
  const nonEmpty = (history ?? []).filter((h) => h.empty_layer !== true);
  if (nonEmpty.length !== layerCount) return Array.from({ length: layerCount }, () => undefined);
  return nonEmpty.map((h) => cleanBuildStep(h.created_by));
}

export function heaviestLayers(image: PlatformImage, n = 3): HeavyLayer[] {
  const steps = layerSteps(image.config.history, image.manifest.json.layers.length);
  return image.manifest.json.layers
    .map((l, i) => ({ index: i + 1, bytes: l.size, createdBy: steps[i] }))
    .sort((a, b) => b.bytes - a.bytes || a.index - b.index)
    .slice(0, n);
}

/**
 * The first layer unpacked at `/` (`ADD file:… in /`, `ADD rootfs.tar.gz /`) is the base image's
 * root file system: the build context is not what made it big.
 */
function isBaseRootFs(l: HeavyLayer): boolean {
  const step = l.createdBy;
  return l.index === 1 && step !== undefined && /^(ADD|COPY) /.test(step) && step.endsWith(' /');
}

function hint(l: HeavyLayer): string {
  const step = l.createdBy;
  if (step === undefined) return '';
  if (isBaseRootFs(l)) {
    return " — the base image's root file system: choose a smaller base (a -slim, alpine or distroless variant) and a multi-stage build that copies only what runs";
  }
  if (/^RUN /.test(step)) return ' — consider a multi-stage build';
  if (/^(COPY|ADD) /.test(step)) return ' — check what the build context copies (.dockerignore)';
  return '';
}

export function describeLayer(l: HeavyLayer, withHint: boolean): string {
  const step = l.createdBy ?? 'build step unknown';
  return `layer ${l.index} (${formatBytes(l.bytes)} compressed): ${step}${withHint ? hint(l) : ''}`;
}

export function measure(image: PlatformImage): PlatformSize {
  const m = image.manifest.json;
  return {
    platform: image.platform,
    digest: image.manifest.digest,
    compressedBytes: m.config.size + m.layers.reduce((sum, l) => sum + l.size, 0),
    layers: m.layers.length,
  };
}

export function compileSizeCheck(spec: SizeSpec, policyName: string): Check<'size'> {
  const maxBytes =
    spec.maxCompressed !== undefined
      ? parseQuantity(spec.maxCompressed, `policy ${policyName}: size.maxCompressed`)
      : undefined;
  const maxLayers = spec.maxLayers;
  const limitText = [
    maxBytes !== undefined ? `maxCompressed ${formatBytes(maxBytes)}` : undefined,
    maxLayers !== undefined ? `maxLayers ${maxLayers}` : undefined,
  ]
    .filter((x) => x !== undefined)
    .join(', ');

  return {
    name: 'size',
    async run(input: CheckInput): Promise<Finding<'size'>> {
      const start = performance.now();
      const images = await input.resolved.platforms(input.platforms, input.signal);
      const sizes = images.map(measure);
      const problems: string[] = [];
      let code: 'OK' | 'SIZE_EXCEEDED' | 'TOO_MANY_LAYERS' = 'OK';
      for (const [i, image] of images.entries()) {
        const s = sizes[i]!;
        if (maxBytes !== undefined && s.compressedBytes > maxBytes) {
          code = 'SIZE_EXCEEDED';
          const layers = heaviestLayers(image).map((l, j) => describeLayer(l, j === 0));
          problems.push(
            `${s.platform}: ${formatBytes(s.compressedBytes)} compressed, over the ${formatBytes(maxBytes)} limit ` +
              `of policy ${policyName}; heaviest: ${layers.join('; ')}`,
          );
        }
        if (maxLayers !== undefined && s.layers > maxLayers) {
          if (code === 'OK') code = 'TOO_MANY_LAYERS';
          problems.push(
            `${s.platform}: ${s.layers} layers, over the limit of ${maxLayers} of policy ${policyName}`,
          );
        }
      }
      const summary = sizes
        .map((s) => `${s.platform}: ${formatBytes(s.compressedBytes)} compressed in ${s.layers} layers`)
        .join('; ');
      return {
        check: 'size',
        passed: code === 'OK',
        // Sizes are read from the digest's own manifests: the same digest always measures the same.
        ...(code === 'OK' ? { reusable: always } : {}),
        code,
        message: code === 'OK' ? `${summary} (within ${limitText || 'no limits'})` : problems.join('; '),
        details: {
          platforms: sizes,
          ...(maxBytes !== undefined ? { maxCompressedBytes: maxBytes } : {}),
          ...(maxLayers !== undefined ? { maxLayers } : {}),
        },
        durationMs: performance.now() - start,
      };
    },
  };
}

const always = (): boolean => true;

export const sizeCheck = defineCheck({
  name: 'size',
  schema: SizeSpec,
  problems: (spec, where) =>
    spec.maxCompressed === undefined && spec.maxLayers === undefined
      ? [`${where}: set maxCompressed and/or maxLayers`]
      : [],
  compile: (spec, ctx) => compileSizeCheck(spec, ctx.policyName),
});
