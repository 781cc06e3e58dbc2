/**
 * Named Sigstore trusted roots (TrustedRoot JSON, as published by sigstore/root-signing or made by
 * `cosign trusted-root create`). Each root is parsed once into sigstore-js trust material and reused
 * by every check; `public-good` comes from TUF (@sigstore/tuf, cached on disk) unless a file replaces
 * it with `--trusted-root public-good=FILE`.
 *
 * Start-up never fails because TUF is unreachable: the root is marked unavailable with a reason
 * (for readiness), and checks that need it throw an indeterminate TRUSTED_ROOT_UNAVAILABLE.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { getTrustedRoot } from '@sigstore/tuf';
import { toTrustMaterial, type TrustMaterial, type Verifier } from '@sigstore/verify';
import { ConfigError, SignatureError, errorMessage, withoutStack } from '../../errors.js';
import { TtlCache } from '../../shared/cache.js';
import { withMemoisedCertificates } from './sigstore-internals.js';
import { defaultCacheDir, fetchPublicGood as fetchFromTuf, type TufFetcher } from './tuf-cache.js';

export const PUBLIC_GOOD = 'public-good';

const ROOT_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export interface TrustedRootFile {
  name: string;
  path: string;
}

export interface LoadedTrustedRoot {
  name: string;
  source: 'file' | 'tuf';
  /** File path, or the TUF cache directory. */
  location: string;
  /** For TUF: which copy is used and why (tuf-cache.ts). */
  note?: string;
  material: TrustMaterial;
  /** Counts, for logs and readiness. */
  summary: { certificateAuthorities: number; tlogs: number; ctlogs: number; timestampAuthorities: number };
  /** sigstore-js Verifiers over this root, built once each (verifier-cache.ts); bounded, LRU. */
  verifiers: TtlCache<Verifier>;
}

export interface TrustedRootStatus {
  name: string;
  available: boolean;
  source: 'file' | 'tuf';
  reason?: string;
  /** Which copy of a TUF root is used (refreshed online, or the cache and why). */
  note?: string;
}

export interface TrustedRootStore {
  /** Names this store knows (available or not). */
  names(): string[];
  has(name: string): boolean;
  /** The root, or an indeterminate TRUSTED_ROOT_UNAVAILABLE error saying why it is missing. */
  get(name: string): LoadedTrustedRoot;
  /** The root when it is available, else undefined (for a caller that goes on without it). */
  ready(name: string): LoadedTrustedRoot | undefined;
  /** One line per root for readiness and start-up logs. */
  status(): TrustedRootStatus[];
  /** Re-fetch TUF-sourced roots (public-good); file roots are not re-read. Never throws. */
  refresh(): Promise<void>;
}

export type { TufFetcher } from './tuf-cache.js';

export interface LoadTrustedRootsOptions {
  /** From `--trusted-root NAME=FILE` (repeatable) and the trusted-roots ConfigMap. */
  files?: readonly TrustedRootFile[];
  /**
   * TUF metadata cache, with imagegate's refresh state beside it (tuf-cache.ts: a fresh cache or a
   * recent failure skips the network). Default: `$XDG_CACHE_HOME/imagegate/tuf`, without state.
   */
  tufCacheDir?: string;
  /** Never contact TUF: public-good is only available from a file. */
  offline?: boolean;
  /** Replaces @sigstore/tuf (tests). */
  tuf?: TufFetcher;
}

const defaultTuf: TufFetcher = ({ cachePath, forceCache, timeout, retry }) =>
  getTrustedRoot({ cachePath, forceCache, timeout, retry });

/** Parses the public flag value `NAME=FILE`. */
export function parseTrustedRootFlag(value: string): TrustedRootFile {
  const eq = value.indexOf('=');
  const name = eq > 0 ? value.slice(0, eq) : '';
  const path = eq > 0 ? value.slice(eq + 1) : '';
  if (!ROOT_NAME.test(name) || path.length === 0) {
    throw new ConfigError(
      'USAGE',
      `--trusted-root expects NAME=FILE with a lowercase name (e.g. public-good=/etc/sigstore/trusted_root.json), got "${value}"`,
    );
  }
  return { name, path };
}

/** `application/vnd.dev.sigstore.trustedroot+json;version=0.1`, `…trustedroot.v0.2+json`. */
const TRUSTED_ROOT_MEDIA_TYPE =
  /^application\/vnd\.dev\.sigstore\.trustedroot(\.v\d+\.\d+)?\+json(;\s*version=\d+(\.\d+)*)?$/;

/** fromJSON accepts `{"mediaType":"x"}`: a root must say what it is and hold something to verify against. */
function assertTrustedRootShape(root: TrustedRoot): void {
  if (!TRUSTED_ROOT_MEDIA_TYPE.test(root.mediaType)) {
    throw new Error(
      `mediaType "${root.mediaType.slice(0, 80)}" is not a Sigstore TrustedRoot (application/vnd.dev.sigstore.trustedroot…+json)`,
    );
  }
  if (root.tlogs.length + root.certificateAuthorities.length + root.timestampAuthorities.length === 0) {
    throw new Error('it has no transparency logs, certificate authorities or timestamp authorities');
  }
}

/** Parses TrustedRoot JSON text into trust material (pure; throws TRUSTED_ROOT_INVALID). */
export function toTrustedRoot(json: string | object, where: string): TrustedRoot {
  try {
    const obj: unknown = typeof json === 'string' ? JSON.parse(json) : json;
    if (typeof obj !== 'object' || obj === null || !('mediaType' in obj)) {
      throw new Error('not a Sigstore TrustedRoot document (no mediaType)');
    }
    const root = TrustedRoot.fromJSON(obj);
    assertTrustedRootShape(root);
    // toTrustMaterial parses every key and certificate: do it here so a broken file fails at load.
    toTrustMaterial(root);
    return root;
  } catch (err) {
    throw new SignatureError(
      'TRUSTED_ROOT_INVALID',
      `trusted root ${where} is invalid: ${errorMessage(err)}`,
      {
        cause: err,
      },
    );
  }
}

/** Verifiers kept per root (one per key and tlog requirement): rotated keys cannot grow it without bound. */
const MAX_VERIFIERS_PER_ROOT = 256;

function toLoaded(
  name: string,
  source: 'file' | 'tuf',
  location: string,
  root: TrustedRoot,
): LoadedTrustedRoot {
  return {
    name,
    source,
    location,
    material: withMemoisedCertificates(toTrustMaterial(root)),
    summary: {
      certificateAuthorities: root.certificateAuthorities.length,
      tlogs: root.tlogs.length,
      ctlogs: root.ctlogs.length,
      timestampAuthorities: root.timestampAuthorities.length,
    },
    verifiers: new TtlCache<Verifier>(MAX_VERIFIERS_PER_ROOT, Date.now, { evict: 'use' }),
  };
}

type Slot =
  { kind: 'ready'; root: LoadedTrustedRoot } | { kind: 'unavailable'; source: 'tuf'; reason: string };

/**
 * Loads every named root. A bad file is a configuration error (thrown); an unreachable TUF is not
 * (public-good is then unavailable, with the reason).
 */
export async function loadTrustedRoots(options: LoadTrustedRootsOptions = {}): Promise<TrustedRootStore> {
  const slots = new Map<string, Slot>();
  for (const file of options.files ?? []) {
    if (slots.has(file.name)) throw new ConfigError('USAGE', `--trusted-root ${file.name} given twice`);
    let text: string;
    try {
      text = await readFile(file.path, 'utf8');
    } catch (err) {
      throw new SignatureError(
        'TRUSTED_ROOT_INVALID',
        `cannot read trusted root "${file.name}" from ${file.path}: ${errorMessage(err)}`,
        { cause: err },
      );
    }
    const root = toTrustedRoot(text, `"${file.name}" (${file.path})`);
    slots.set(file.name, { kind: 'ready', root: toLoaded(file.name, 'file', file.path, root) });
  }

  const tuf = options.tuf ?? defaultTuf;
  const cacheDir = options.tufCacheDir ?? join(defaultCacheDir(), 'tuf');
  const fetchPublicGood = async (force = false): Promise<Slot> => {
    if (options.offline === true) {
      return {
        kind: 'unavailable',
        source: 'tuf',
        reason: 'offline mode and no --trusted-root public-good=FILE given',
      };
    }
    try {
      const { root, note } = await fetchFromTuf(tuf, cacheDir, {
        force,
        stateless: options.tufCacheDir === undefined,
      });
      return { kind: 'ready', root: { ...toLoaded(PUBLIC_GOOD, 'tuf', cacheDir, root), note } };
    } catch (err) {
      return { kind: 'unavailable', source: 'tuf', reason: errorMessage(err) };
    }
  };

  if (!slots.has(PUBLIC_GOOD)) slots.set(PUBLIC_GOOD, await fetchPublicGood());

  return {
    names: () => [...slots.keys()],
    has: (name) => slots.has(name),
    get(name) {
      const slot = slots.get(name);
      if (slot?.kind === 'ready') return slot.root;
      // Expected for a key authority requiring a log when its root is unavailable: no stack.
      throw withoutStack(
        () =>
          new SignatureError(
            'TRUSTED_ROOT_UNAVAILABLE',
            slot === undefined
              ? `no trusted root named "${name}" is configured`
              : `trusted root "${name}" is unavailable: ${slot.reason}`,
            { indeterminate: true },
          ),
      );
    },
    ready(name) {
      const slot = slots.get(name);
      return slot?.kind === 'ready' ? slot.root : undefined;
    },
    status() {
      return [...slots.entries()].map(([name, slot]) =>
        slot.kind === 'ready'
          ? {
              name,
              available: true,
              source: slot.root.source,
              ...(slot.root.note !== undefined ? { note: slot.root.note } : {}),
            }
          : { name, available: false, source: slot.source, reason: slot.reason },
      );
    },
    async refresh() {
      const current = slots.get(PUBLIC_GOOD);
      if (current === undefined || (current.kind === 'ready' && current.root.source === 'file')) return;
      const next = await fetchPublicGood(true);
      // Keep a working root when a refresh fails.
      if (next.kind === 'ready' || current.kind === 'unavailable') slots.set(PUBLIC_GOOD, next);
    },
  };
}
