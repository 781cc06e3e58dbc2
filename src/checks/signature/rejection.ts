/**
 * Why a candidate was not accepted for an authority: `Rejected` is thrown inside verification and
 * turned into a `Rejection` by verifyCandidate; `classifyError` names sigstore-js's failures with
 * imagegate's error codes and the short phrases denial messages are built from.
 */
import { PolicyError, VerificationError } from '@sigstore/verify';
import { errorMessage, type SignatureErrorCode } from '../../errors.js';

export interface Rejection {
  authority: string;
  source: string;
  code: SignatureErrorCode;
  /** Short phrase for denial messages, e.g. `with an invalid Rekor SET`. */
  reason: string;
}

/** Worst first: the code a denial reports when authorities failed for different reasons. */
const CODE_ORDER: readonly SignatureErrorCode[] = [
  // the policy's key is unusable: no signature could have verified, and an operator must act
  'KEY_INVALID',
  'DIGEST_MISMATCH',
  'SIGNATURE_INVALID',
  'TLOG_INVALID',
  'TIMESTAMP_INVALID',
  'CERTIFICATE_INVALID',
  'IDENTITY_MISMATCH',
  'CLAIM_MISMATCH',
  'TLOG_MISSING',
  'SIGNATURE_MALFORMED',
];

/** The worst code among the rejections (signature and attestation checks); undefined for none. */
export function worstCode(rejections: readonly Rejection[]): SignatureErrorCode | undefined {
  return CODE_ORDER.find((c) => rejections.some((r) => r.code === c)) ?? rejections[0]?.code;
}

/** A definite rejection (not an indeterminate condition such as an unavailable trusted root). */
export class Rejected extends Error {
  constructor(
    readonly code: SignatureErrorCode,
    readonly reason: string,
  ) {
    super(reason);
  }
}

export function classifyError(err: unknown): { code: SignatureErrorCode; reason: string } {
  if (err instanceof PolicyError) return { code: 'IDENTITY_MISMATCH', reason: err.message };
  if (!(err instanceof VerificationError)) {
    return { code: 'SIGNATURE_MALFORMED', reason: `malformed: ${errorMessage(err)}` };
  }
  const msg = err.message;
  switch (err.code) {
    case 'SIGNATURE_ERROR':
    case 'PUBLIC_KEY_ERROR':
      return { code: 'SIGNATURE_INVALID', reason: 'with a signature that does not verify' };
    case 'CERTIFICATE_ERROR':
      return { code: 'CERTIFICATE_INVALID', reason: `with an untrusted certificate (${msg})` };
    case 'TLOG_INCLUSION_PROMISE_ERROR':
      return { code: 'TLOG_INVALID', reason: 'with an invalid Rekor SET' };
    case 'TLOG_INCLUSION_PROOF_ERROR':
    case 'TLOG_MISSING_INCLUSION_ERROR':
      return { code: 'TLOG_INVALID', reason: `with an invalid Rekor inclusion proof (${msg})` };
    case 'TLOG_BODY_ERROR':
      return { code: 'TLOG_INVALID', reason: `with a Rekor entry for other content (${msg})` };
    case 'TLOG_ERROR':
      return { code: 'TLOG_MISSING', reason: 'without a transparency log entry' };
    case 'TIMESTAMP_ERROR':
      return /got 0$/.test(msg)
        ? { code: 'TLOG_MISSING', reason: 'without a signing time (no Rekor entry or RFC 3161 timestamp)' }
        : { code: 'TIMESTAMP_INVALID', reason: `with an invalid timestamp (${msg})` };
    default:
      return { code: 'SIGNATURE_INVALID', reason: `rejected (${err.code}: ${msg})` };
  }
}
