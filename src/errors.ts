/**
 * Errors are values a person can act on. Every boundary throws an ImagegateError with a code from
 * its own union; evaluate/evaluate.ts is the one place that turns them into findings (and
 * error-status.ts the one table of what the server answers for a request's own errors).
 *
 * `indeterminate` separates "the check could not complete" (registry down, timeout: the policy's
 * onError decides) from "the check completed and found a violation" (tampered digest: always deny).
 */
export class ImagegateError<Code extends string = string> extends Error {
  readonly code: Code;
  readonly indeterminate: boolean;

  constructor(code: Code, message: string, options: { cause?: unknown; indeterminate?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.indeterminate = options.indeterminate ?? false;
  }
}

/**
 * Makes an error for an expected outcome (a registry's 404 for a tag that need not exist: three per
 * cold image) without capturing a stack trace, which costs more than the rest of the error. The
 * error is the same coded value; its `stack` is only its first line.
 */
export function withoutStack<E extends Error>(make: () => E): E {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return make();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

export type ConfigErrorCode = 'CONFIG_INVALID' | 'POLICY_INVALID' | 'USAGE';
export class ConfigError extends ImagegateError<ConfigErrorCode> {}

export type AdmissionErrorCode =
  | 'BODY_NOT_JSON'
  | 'BODY_TOO_LARGE'
  | 'NOT_ADMISSION_REVIEW'
  | 'UNSUPPORTED_API_VERSION'
  | 'MISSING_UID'
  | 'NO_POD_SPEC'
  | 'UNSUPPORTED_MEDIA_TYPE';
export class AdmissionError extends ImagegateError<AdmissionErrorCode> {}

export type ImageReferenceErrorCode = 'INVALID_REFERENCE';
export class ImageReferenceError extends ImagegateError<ImageReferenceErrorCode> {}

export type RegistryErrorCode =
  | 'REGISTRY_NOT_ALLOWED'
  | 'REGISTRY_UNAVAILABLE'
  | 'REGISTRY_ERROR'
  | 'RATE_LIMITED'
  | 'UNAUTHORIZED'
  | 'MANIFEST_UNKNOWN'
  | 'BLOB_UNKNOWN'
  | 'DIGEST_MISMATCH'
  | 'RESPONSE_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'TOO_MANY_REDIRECTS'
  | 'PLATFORM_NOT_FOUND'
  /**
   * An index a node would resolve differently than imagegate can check: a nested index, or an entry
   * whose listed platform and config disagree.
   */
  | 'PLATFORM_AMBIGUOUS'
  | 'CREDENTIALS_UNAVAILABLE'
  | 'TIMEOUT'
  /**
   * JSON the registry served (manifest, index, config, token answer, signature or attestation
   * manifest) is not JSON or has a field of the wrong type: content, not availability, so a
   * completed finding that `onError` never turns into an admission.
   */
  | 'REGISTRY_CONTENT_INVALID'
  /** The document's content disagrees with its media type (manifest and index at once, wrong mediaType). */
  | 'MANIFEST_MEDIA_TYPE_MISMATCH'
  /** A token realm names a host imagegate must not send the token request to (address class, allowlist). */
  | 'AUTH_TARGET_REFUSED'
  /** A redirect points at a loopback, link-local or unspecified address other than the registry's own. */
  | 'REDIRECT_REFUSED'
  /** Budgets (completed findings, never indeterminate): each code names the budget that was exhausted. */
  | 'BUDGET_IMAGES'
  | 'BUDGET_PLATFORMS'
  | 'BUDGET_LAYERS'
  | 'BUDGET_SIGNATURES'
  | 'BUDGET_CONNECTIONS'
  | 'BUDGET_BYTES_IN_FLIGHT'
  /** An index (or referrers index) lists more manifests than maxManifestsPerIndex. */
  | 'BUDGET_INDEX_MANIFESTS';
export class RegistryError extends ImagegateError<RegistryErrorCode> {}

/** Message of an unknown thrown value, without stack or object dumps. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

export type SignatureErrorCode =
  /** No signature (legacy tag or bundle referrer) was found for the digest. */
  | 'NO_SIGNATURES'
  /** The signature does not verify with the key or certificate (altered or signed by someone else). */
  | 'SIGNATURE_INVALID'
  /** A signature or attestation artifact could not be parsed (bad JSON, bad base64, bad bundle). */
  | 'SIGNATURE_MALFORMED'
  /** Signed by a certificate whose issuer/subject the authority does not trust. */
  | 'IDENTITY_MISMATCH'
  /** The authority requires a transparency log entry (or a signing time) and there is none. */
  | 'TLOG_MISSING'
  /** A transparency log entry is present but its SET, inclusion proof or body does not verify. */
  | 'TLOG_INVALID'
  /** An RFC 3161 timestamp does not verify. */
  | 'TIMESTAMP_INVALID'
  /** The signature verifies but the signed payload names another digest. */
  | 'DIGEST_MISMATCH'
  /** The certificate does not chain to the trusted root, is expired at signing time, or its SCT fails. */
  | 'CERTIFICATE_INVALID'
  /** The trusted root a check needs could not be loaded (e.g. TUF unreachable): indeterminate. */
  | 'TRUSTED_ROOT_UNAVAILABLE'
  /** A trusted_root.json file is unreadable or invalid. */
  | 'TRUSTED_ROOT_INVALID'
  /** A policy key (PEM, Secret or KMS answer) is not a supported public key. */
  | 'KEY_INVALID'
  /** A key referenced through secretRef could not be read: indeterminate. */
  | 'SECRET_UNAVAILABLE'
  /** Some authorities verified, but fewer than the policy's threshold. */
  | 'THRESHOLD_NOT_MET'
  /** A keyless certificate's Fulcio extension (claim) does not match the authority's `claims`. */
  | 'CLAIM_MISMATCH'
  /** `signature.maxAge`: the newest verified signing time is older than allowed. */
  | 'SIGNATURE_TOO_OLD'
  /** `signature.maxAge`: no verified signature carries a verified time (Rekor or RFC 3161). */
  | 'SIGNATURE_AGE_UNKNOWN'
  /** A `key.kms` key service (AWS KMS, Cloud KMS, Key Vault, Vault transit) gave no usable answer: indeterminate. */
  | 'KMS_UNAVAILABLE';
export class SignatureError extends ImagegateError<SignatureErrorCode> {}

export type AttestationErrorCode =
  /** No attestation of the required predicate type is stored for the image. */
  | 'ATTESTATION_MISSING'
  /** Verified attestations exist, but none is newer than the attestation's maxAge. */
  | 'ATTESTATION_TOO_OLD'
  /** maxAge is set but no verified attestation carries a verified time (Rekor or RFC 3161). */
  | 'ATTESTATION_AGE_UNKNOWN'
  /** The attestation's payload is larger than imagegate reads (checked before parsing). */
  | 'PREDICATE_TOO_LARGE'
  /** The condition evaluated to false on every verified statement. */
  | 'CONDITION_FALSE'
  /** The condition failed to evaluate (missing field, wrong type, non-boolean result). */
  | 'CONDITION_ERROR'
  /** The condition read more of its input than the evaluation budget allows. */
  | 'CONDITION_COST_EXCEEDED';
export class AttestationError extends ImagegateError<AttestationErrorCode> {}

export type KubeApiErrorCode =
  /** The API server could not be reached, or kept answering 429/5xx after the retries. */
  | 'API_UNAVAILABLE'
  /** RBAC forbids the call (403) or the credentials are refused (401). */
  | 'API_FORBIDDEN'
  /** The API server answered with another error (e.g. 404: a CRD is not installed). */
  | 'API_REJECTED';
export class KubeApiError extends ImagegateError<KubeApiErrorCode> {}
