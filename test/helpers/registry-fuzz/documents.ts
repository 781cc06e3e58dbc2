/**
 * The bytes of one scenario's documents: built well-formed, then mutated at the scenario's paths
 * (scenario.ts), then signed over the bytes actually served, so a document can be validly signed
 * and malformed at once. Records which documents a mutation really changed.
 */
import { createHash } from 'node:crypto';
import type { Doc, ImageScenario, Mutation, WrongValue } from './scenario.js';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const BUNDLE_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
export const PREDICATE_TYPE = 'https://imagegate.test/fuzz/v1';
export const IN_TOTO = 'application/vnd.in-toto+json';

export const sha256 = (b: Uint8Array | string): string =>
  `sha256:${createHash('sha256').update(b).digest('hex')}`;
export const b64 = (b: Uint8Array | string): string => Buffer.from(b).toString('base64');

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  [k: string]: unknown;
}

const DEEP = '__IMAGEGATE_FUZZ_DEEP_';

/** Sets `value` at `path` (index -1 = last element); false when the path does not exist. */
function apply(root: unknown, path: (string | number)[], value: WrongValue): boolean {
  let node = root;
  for (let i = 0; i < path.length; i++) {
    if (node === null || typeof node !== 'object') return false;
    const container = node as Record<string | number, unknown> & unknown[];
    let key = path[i]!;
    if (typeof key === 'number') {
      if (!Array.isArray(container) || container.length === 0) return false;
      key = key < 0 ? container.length + key : key;
      if (key >= container.length) return false;
    } else if (Array.isArray(container) || !Object.hasOwn(container, key)) {
      // a missing leaf may be added only by a wrong value, never deleted
      if (i < path.length - 1 || value.kind === 'delete' || Array.isArray(container)) return false;
    }
    if (i === path.length - 1) {
      if (value.kind === 'delete') {
        if (Array.isArray(container)) container.splice(key as number, 1);
        else delete container[key];
      } else if (value.kind === 'deep') container[key] = `${DEEP}${value.depth}_${value.array ? 'a' : 'o'}`;
      // a copy: the value is fast-check's shared constant (scenario.ts WRONG), and a later mutation
      // descending into it would change it for every later case (seed 20261207 case 17707)
      else container[key] = structuredClone(value.json);
      return true;
    }
    node = container[key];
  }
  return false;
}

/** Serialises `value` with the scenario's mutations of `doc`; `mutated` learns whether any applied. */
export function render(doc: Doc, value: object, s: ImageScenario, mutated: Set<Doc>): Buffer {
  const clone = structuredClone(value);
  for (const m of s.mutations.filter((x: Mutation) => x.doc === doc)) {
    if (apply(clone, m.path, m.value)) mutated.add(doc);
  }
  const text = JSON.stringify(clone).replace(
    new RegExp(`"${DEEP}(\\d+)_([ao])"`, 'g'),
    (_, n: string, kind: string) => {
      const depth = Number(n);
      return kind === 'a'
        ? `${'['.repeat(depth)}${']'.repeat(depth)}`
        : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    },
  );
  return Buffer.from(text);
}

/** DSSE pre-authentication encoding. */
export function pae(payloadType: string, payload: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${payloadType.length} ${payloadType} ${payload.length} `),
    payload,
  ]);
}

export const descriptor = (
  mediaType: string,
  bytes: Buffer,
  extra: Record<string, unknown> = {},
): Descriptor => ({
  mediaType,
  digest: sha256(bytes),
  size: bytes.byteLength,
  ...extra,
});

export function platformOf(spelling: string): { os: string; architecture: string; variant?: string } {
  const [os, architecture, variant] = spelling.split('/') as [string, string, string | undefined];
  return variant === undefined ? { os, architecture } : { os, architecture, variant };
}
