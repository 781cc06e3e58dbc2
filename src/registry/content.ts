/**
 * Registry JSON at the edge: manifests (images, indexes, `.sig`/`.att` manifests, referrers indexes)
 * and image configs are parsed once and checked against compiled schemas (content.schema.ts), so
 * everything past this module sees well-typed values. A document that is not JSON, not the kind its
 * media type says, or of the wrong shape is content the registry served: a completed finding
 * (REGISTRY_CONTENT_INVALID, MANIFEST_MEDIA_TYPE_MISMATCH, UNSUPPORTED_MEDIA_TYPE), never an
 * indeterminate one that `onError: allow` could let through.
 */
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { TSchema } from '@sinclair/typebox';
import { RegistryError } from '../errors.js';
import { isRecord } from '../shared/guards.js';
import { overBudget, type Limits } from './limits.js';
import {
  ImageConfigSchema,
  ImageIndexSchema,
  ImageManifestSchema,
  type ImageConfigShape,
  type ImageIndexShape,
  type ImageManifestShape,
} from './content.schema.js';
import { DOCKER_MANIFEST, INDEX_TYPES, OCI_INDEX, OCI_MANIFEST } from './media-types.js';
import { assertDiffIds } from './diff-ids.js';
import type { FetchedManifest, ImageConfigJson, ImageIndexJson, ImageManifestJson } from './types.js';

// The schemas' types must fit the contract checks read (types.ts): a compile-time proof.
type Fits<A, B extends A> = [A, B];
export type ContentFitsContract = [
  Fits<ImageManifestJson, ImageManifestShape>,
  Fits<ImageIndexJson, ImageIndexShape>,
  Fits<ImageConfigJson, ImageConfigShape>,
];

const manifestChecker = TypeCompiler.Compile(ImageManifestSchema);
const indexChecker = TypeCompiler.Compile(ImageIndexSchema);
const configChecker = TypeCompiler.Compile(ImageConfigSchema);

const IMAGE_MANIFEST_TYPES: readonly string[] = [OCI_MANIFEST, DOCKER_MANIFEST];

/** A short, bounded description of a wrong value: never the value itself (it may be megabytes). */
function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `a string of ${v.length} characters`;
  return `${typeof v} ${String(v).slice(0, 32)}`;
}

/** Throws REGISTRY_CONTENT_INVALID naming the first field that does not match. */
export function assertContent<T extends TSchema>(
  checker: TypeCheck<T>,
  value: unknown,
  what: string,
  kind: string,
): void {
  // Check() is compiled; Errors() walks the value, so it only runs to describe a failure.
  if (checker.Check(value)) return;
  const first = checker.Errors(value).First();
  const where = first !== undefined && first.path !== '' ? first.path.slice(0, 128) : '(document)';
  const why =
    first !== undefined ? `${first.message} (found ${describeValue(first.value)})` : 'does not match';
  throw new RegistryError(
    'REGISTRY_CONTENT_INVALID',
    `${what}: the registry served a malformed ${kind}: ${where} ${why}`,
  );
}

function parseJson(bytes: Uint8Array, what: string, kind: string): unknown {
  try {
    // a view, not a copy (Buffer.from(Uint8Array) copies: ~2 ms per 4 MiB)
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (err) {
    throw new RegistryError('REGISTRY_CONTENT_INVALID', `${what}: ${kind} is not JSON`, { cause: err });
  }
}

/** Manifests larger than this are parsed on the next turn of the event loop, not right after hashing. */
const YIELD_BYTES = 256 * 1024;

/**
 * Lets the event loop run between hashing a large manifest and parsing it, so the two (~8 ms and
 * ~20 ms for 4 MiB) are two synchronous steps, not one (issue 20, property 3).
 */
export async function yieldAfterLargeRead(bytes: Uint8Array): Promise<void> {
  if (bytes.byteLength > YIELD_BYTES) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** How many entries a manifest may list: what is checked before its schema walks every entry. */
export type EntryBounds = Pick<Limits, 'maxManifestsPerIndex' | 'maxLayersPerManifest'>;

/**
 * The entry budgets, applied to the parsed document before anything walks its entries: the schema
 * check, attestation filter and platform match cost ~1 µs per entry, so a 4 MiB index of 20,000
 * entries would hold the event loop for ~50-100 ms past its parse (issue 20, property 3).
 */
function assertEntryBounds(json: Record<string, unknown>, bounds: EntryBounds, what: string): void {
  const { manifests, layers } = json;
  if (Array.isArray(manifests) && manifests.length > bounds.maxManifestsPerIndex) {
    throw overBudget(
      'BUDGET_INDEX_MANIFESTS',
      `${what}: the index lists ${manifests.length} manifests, more than the ` +
        `${bounds.maxManifestsPerIndex} imagegate reads in one index (maxManifestsPerIndex)`,
    );
  }
  if (Array.isArray(layers) && layers.length > bounds.maxLayersPerManifest) {
    throw overBudget(
      'BUDGET_LAYERS',
      `${what}: ${layers.length} layers, more than the ${bounds.maxLayersPerManifest} imagegate reads ` +
        '(maxLayersPerManifest)',
    );
  }
}

/**
 * Parses verified manifest bytes into an image manifest or an index; rejects anything else, and
 * anything listing more entries than `bounds` before its entries are checked.
 */
export function parseManifest(
  bytes: Uint8Array,
  digest: string,
  contentType: string | undefined,
  what: string,
  bounds: EntryBounds,
): FetchedManifest {
  const json = parseJson(bytes, what, 'manifest');
  if (!isRecord(json) || json.schemaVersion !== 2) {
    throw new RegistryError('UNSUPPORTED_MEDIA_TYPE', `${what}: not a schemaVersion 2 manifest`);
  }
  assertEntryBounds(json, bounds, what);
  const declared = typeof json.mediaType === 'string' ? json.mediaType : undefined;
  const isIndex = json.manifests !== undefined;
  assertShapeMatchesType(json, isIndex, declared, contentType, what);
  if (isIndex) {
    assertContent(indexChecker, json, what, 'index');
    const mediaType =
      declared ?? (contentType && INDEX_TYPES.includes(contentType) ? contentType : OCI_INDEX);
    return { kind: 'index', digest, mediaType, bytes, json: json as ImageIndexShape };
  }
  if (json.config === undefined && json.layers === undefined) {
    throw new RegistryError(
      'UNSUPPORTED_MEDIA_TYPE',
      `${what}: neither an image manifest nor an index (media type ${declared ?? contentType ?? 'unknown'})`,
    );
  }
  assertContent(manifestChecker, json, what, 'image manifest');
  const mediaType = declared ?? (contentType === DOCKER_MANIFEST ? DOCKER_MANIFEST : OCI_MANIFEST);
  return { kind: 'image', digest, mediaType, bytes, json: json as ImageManifestShape };
}

/**
 * A document must be what its media type says (the CVE-2021-41190 class): an index carries no
 * `config`/`layers`, an image manifest no `manifests`, and neither its `mediaType` field nor the
 * Content-Type (when it is a manifest type) may name the other kind.
 */
function assertShapeMatchesType(
  json: Record<string, unknown>,
  isIndex: boolean,
  declared: string | undefined,
  contentType: string | undefined,
  what: string,
): void {
  const mismatch = (why: string): RegistryError =>
    new RegistryError('MANIFEST_MEDIA_TYPE_MISMATCH', `${what}: ${why}; refusing an ambiguous document`);
  if (isIndex && (json.layers !== undefined || json.config !== undefined)) {
    throw mismatch('the document has both `manifests` (an index) and `config`/`layers` (an image manifest)');
  }
  const shape = isIndex ? 'an index' : 'an image manifest';
  for (const [source, type] of [
    ['its mediaType field', declared],
    ['the Content-Type', contentType],
  ] as const) {
    if (type === undefined) continue;
    const saysIndex = INDEX_TYPES.includes(type);
    const saysImage = IMAGE_MANIFEST_TYPES.includes(type);
    if ((isIndex && saysImage) || (!isIndex && saysIndex)) {
      throw mismatch(`${source} says ${type} but the content is ${shape}`);
    }
  }
}

/** Parses a config blob (digest already verified) into the typed config checks read. */
export function parseConfig(bytes: Uint8Array, what: string): ImageConfigJson {
  const json = parseJson(bytes, what, 'config');
  assertContent(configChecker, json, what, 'image config');
  assertDiffIds(json as ImageConfigShape, what);
  return json as ImageConfigShape;
}
