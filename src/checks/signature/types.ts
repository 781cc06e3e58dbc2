/**
 * The signature check's result types, shared by its modules and by the checks that use its verdict
 * (base), so siblings import types from here and never from each other.
 */
import type { RegistryAccess } from '../../registry/types.js';
import type { ImageReference } from '../../registry/reference.js';
import type { SignatureErrorCode } from '../../errors.js';
import type { KeySecretReader, KmsKeyReader } from './authorities.js';
import type { TrustedRootStore } from './trusted-roots.js';
import type { Rejection, VerifiedItem } from './verify.js';

/** Shares passing verdicts across reviews: VerdictCache (verdict-cache.ts) is the one implementation. */
export interface VerdictStore {
  /** `verify` runs unless a passing verdict for `key` is fresh (concurrent callers share one run). */
  verify(
    key: string,
    signal: AbortSignal,
    verify: (signal: AbortSignal) => Promise<SignatureVerdict>,
  ): Promise<SignatureVerdict>;
  /** The fresh passing verdict for `key`, if any. */
  get(key: string): SignatureVerdict | undefined;
  /** Remembers, as long as a verdict, that the digest of own-verdict key `key` passed only per platform. */
  notePlatformSigned(key: string): void;
  isPlatformSigned(key: string): boolean;
  /**
   * Whether `verdict` is the very object the store still holds (not expired, not evicted, not
   * cleared): a finding made from it may be reused until then (evaluate.ts). Optional: a store
   * without it makes no finding reusable.
   */
  holds?(verdict: SignatureVerdict): boolean;
}

export interface SignatureDeps {
  trustedRoots: TrustedRootStore;
  /** Reads `key.secretRef` keys; without it such authorities fail as indeterminate. */
  secrets?: KeySecretReader;
  /** Fetches `key.kms` public keys (cached per key reference); without it such authorities fail as indeterminate. */
  kms?: KmsKeyReader;
  /** Passing verdicts shared across reviews (and concurrent identical verifications); none: verify each time. */
  cache?: VerdictStore;
}

export interface DigestVerification {
  digest: string;
  /** Signatures found (including unreadable ones); attestations are not signatures. */
  found: number;
  /** Attestations found beside them (DSSE statements of another predicate type than cosign's signature). */
  attestationsFound?: number;
  verified: VerifiedItem[];
  rejections: Rejection[];
}

export interface SignatureVerdict {
  passed: boolean;
  /** 'OK' or the most telling SignatureErrorCode. */
  code: 'OK' | SignatureErrorCode;
  message: string;
  /** Signatures that satisfied the policy (empty when denied). */
  signatures: VerifiedItem[];
  /**
   * Attestations found among the signature candidates (bundle referrers); legacy `.att` tags are read
   * only when a check asks for attestations (SignatureVerifier.attestations, ImageFacts.attestations).
   */
  attestations: VerifiedItem[];
  digests: DigestVerification[];
}

export interface SignatureVerifier {
  /** Equal for verifiers compiled from the same section at the same place: what facts memoise on. */
  readonly id: string;
  /** Verifies `digest` (and, for an index not itself signed, `platformDigests`) in `reference`'s repository. */
  verify(
    registry: RegistryAccess,
    reference: ImageReference,
    digest: string,
    signal: AbortSignal,
    platformDigests?: readonly string[],
    /** verifyOwn's promise for `digest`, when it was started early. */
    own?: Promise<SignatureVerdict>,
  ): Promise<SignatureVerdict>;
  /**
   * `digest`'s verdict by its own signatures (no platforms): the first thing verify needs, and it needs
   * no manifest, so for a digest-pinned image it can run beside the manifest fetch. Undefined when the
   * cache knows that this digest passes only per platform (nothing to start early).
   */
  verifyOwn(
    registry: RegistryAccess,
    reference: ImageReference,
    digest: string,
    signal: AbortSignal,
  ): Promise<SignatureVerdict> | undefined;
  /**
   * The attestations `verdict` (this verifier's, for an image in `reference`'s repository) rests on:
   * its own (bundle referrers, read with the signatures) and those in the legacy `.att` tags of the
   * digests it was concluded from, which only this reads. Cached like verdicts: only when it passed.
   */
  attestations(
    registry: RegistryAccess,
    reference: ImageReference,
    verdict: SignatureVerdict,
    signal: AbortSignal,
    /** startAttestations' lookup, used if the verdict rests on its digest. */
    early?: EarlyAttestations,
  ): Promise<VerifiedItem[]>;
  /**
   * Starts `digest`'s `.att` lookup before its verdict is known (a digest-pinned image whose policy
   * may read provenance); undefined when the cache already holds it (or the digest is signed only
   * per platform).
   */
  startAttestations(
    registry: RegistryAccess,
    reference: ImageReference,
    digest: string,
    signal: AbortSignal,
  ): EarlyAttestations | undefined;
}

/** A legacy `.att` lookup started early (SignatureVerifier.startAttestations). */
export interface EarlyAttestations {
  digest: string;
  items: Promise<VerifiedItem[]>;
}
