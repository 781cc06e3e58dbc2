/**
 * What the attestation check establishes, documented where it is defined: the verified evidence per
 * digest (cached), and the result per required attestation (computed per review: maxAge and the
 * condition depend on the time and are cheap on cached, verified statements).
 */
import type { AttestationErrorCode, SignatureErrorCode } from '../../errors.js';
import type { Rejection, VerifiedItem } from '../signature/verify.js';

/** The attestations of one digest, verified for one required attestation's authorities. */
export interface DigestEvidence {
  digest: string;
  /** DSSE candidates found for the digest (legacy `.att` layers and bundle referrers, readable or not). */
  found: number;
  /** Verified statements of the required predicate type (one per candidate and authority). */
  verified: VerifiedItem[];
  /** Predicate types of statements that verified but are of another type (for messages). */
  otherTypes: string[];
  /** Why candidates were not accepted, per authority. */
  rejections: Rejection[];
  /** Candidates not read because they exceed the payload limit: their sizes in bytes. */
  tooLarge: number[];
}

/** The evidence for an image: its own digest, then (when that is not enough) each checked platform. */
export interface AttestationEvidence {
  top: DigestEvidence;
  /** Present only when the image is an index and its own digest carries no verified attestation. */
  platforms: { platform: string; evidence: DigestEvidence }[];
}

export type AttestationCode = 'OK' | AttestationErrorCode | SignatureErrorCode;

export interface AttestationResult {
  /** The policy's attestation name. */
  name: string;
  predicateType: string;
  passed: boolean;
  code: AttestationCode;
  /** `attestation sbom: …`: what was checked, what was found, what the policy wanted. */
  message: string;
  /** The statements that satisfied it (authority, digest, source, signing time). */
  satisfiedBy: {
    authority: string;
    digest: string;
    source: string;
    format: VerifiedItem['format'];
    signedAt?: string;
  }[];
}
