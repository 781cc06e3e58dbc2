/**
 * The registry contract that checks and the review orchestration rely on. The implementation lives
 * beside this file (client.ts, resolve.ts); checks only see these types.
 */
import type { Limits } from './limits.js';
import type { ImageReference } from './reference.js';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform;
  artifactType?: string;
}

/** OCI image manifest or Docker v2 schema 2 manifest. */
export interface ImageManifestJson {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** OCI image index or Docker manifest list. */
export interface ImageIndexJson {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** A manifest as fetched: its digest was verified against `bytes`. */
export type FetchedManifest =
  | { kind: 'image'; digest: string; mediaType: string; bytes: Uint8Array; json: ImageManifestJson }
  | { kind: 'index'; digest: string; mediaType: string; bytes: Uint8Array; json: ImageIndexJson };

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** The parts of an OCI image config imagegate reads (validated: content.schema.ts). */
export interface ImageConfigJson {
  architecture?: string;
  os?: string;
  variant?: string;
  created?: string;
  config?: { Labels?: Record<string, string> | null } | null;
  rootfs?: { type?: string; diff_ids?: string[] | null };
  history?: HistoryEntry[] | null;
}

/** One platform of an image: an image manifest and its config, both digest-verified. */
export interface PlatformImage {
  platform: string; // "linux/amd64", "linux/arm64/v8"
  manifest: Extract<FetchedManifest, { kind: 'image' }>;
  config: ImageConfigJson;
  configDigest: string;
}

/**
 * An image resolved to a digest. `platforms()` fetches (and caches) the per-platform manifests and
 * configs the policy asks for; ["all"] means every platform except attestation entries.
 */
export interface ResolvedImage {
  reference: ImageReference;
  /** Digest of the top-level manifest (index or image manifest) the reference resolved to. */
  digest: string;
  manifest: FetchedManifest;
  platforms(selector: readonly string[], signal: AbortSignal): Promise<PlatformImage[]>;
}

/** Per-request registry access: shares one deadline and the pod's pull credentials. */
export interface RegistryAccess {
  /** The budgets this access enforces (limits.ts); checks read the ones they apply themselves. */
  readonly limits?: Readonly<Limits>;
  /**
   * Ends the review's claim on the process byte budget (call when the review is answered); without
   * it the claim ends one second past the review's deadline.
   */
  release?(): void;
  /**
   * Counts `bytes` that a use of registry content costs beyond its download (decoding a blob again,
   * base64 and DSSE payloads, JSON parsing) against the review's byte budget: throws
   * BUDGET_BYTES_IN_FLIGHT (a completed finding) when the review's share or the process budget is spent.
   */
  account?(bytes: number, what: string): void;
  /**
   * Which credential this access sends to `reference`'s registry and repository (a key, never the
   * secret): outcomes reused across reviews are kept per key, so one namespace's pull secret never
   * answers for a namespace without it.
   */
  credentialScope?(reference: ImageReference): Promise<string>;
  /**
   * The digest a tag reference names now without asking the registry: a tag → digest answer still
   * within `tagTtl`, whose manifest this access may read (the same answer `resolve` would give
   * from its caches); undefined when the registry would be asked. Reused outcomes of tag references
   * are looked up by it (evaluate.ts).
   */
  freshTag?(reference: ImageReference): Promise<string | undefined>;
  /**
   * credentialScope's answer when it needs no provider to call out (every provider of the chain
   * answers from memory, as a keyring does); undefined: ask credentialScope. For the cached path's
   * synchronous answer (evaluate/reuse-now.ts).
   */
  credentialScopeNow?(reference: ImageReference): string | undefined;
  /** freshTag's answer for a request sending the credential of `scope`, synchronously. */
  freshTagNow?(reference: ImageReference, scope: string): string | undefined;
  resolve(reference: ImageReference, signal: AbortSignal): Promise<ResolvedImage>;
  getManifest(repository: ImageReference, tagOrDigest: string, signal: AbortSignal): Promise<FetchedManifest>;
  /**
   * A tag's manifest, or undefined where the registry answers 404 (getManifest throws
   * MANIFEST_UNKNOWN there): for tags whose absence is the usual answer (a legacy `.sig`/`.att`).
   */
  findTag?(
    repository: ImageReference,
    tag: string,
    signal: AbortSignal,
  ): Promise<FetchedManifest | undefined>;
  getBlob(
    repository: ImageReference,
    descriptor: Descriptor,
    maxBytes: number,
    signal: AbortSignal,
  ): Promise<Uint8Array>;
  /** Referrers of `digest` (OCI 1.1 API, falling back to the sha256-<hex> tag schema). */
  getReferrers(
    repository: ImageReference,
    digest: string,
    artifactType: string | undefined,
    signal: AbortSignal,
  ): Promise<Descriptor[]>;
}
