/**
 * The content-digest grammar imagegate accepts (`algorithm:hex`, lowercase hex of the algorithm's
 * length): one definition for references, registry content checks and base-image claims.
 */

/** Supported digest algorithms and the hex length of each. */
export const DIGEST_ALGORITHMS = { sha256: 64, sha384: 96, sha512: 128 } as const;

export type DigestAlgorithm = keyof typeof DIGEST_ALGORITHMS;

/** The grammar as a pattern source, for schemas (registry descriptors). */
export const DIGEST_PATTERN = '^(sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})$';

const DIGEST_RE = new RegExp(DIGEST_PATTERN);

/** `sha256:<64 hex>`, `sha384:<96 hex>` or `sha512:<128 hex>`. */
export function isDigest(value: string): boolean {
  return DIGEST_RE.test(value);
}

/** The algorithm of a digest accepted by `isDigest`. */
export function digestAlgorithm(digest: string): DigestAlgorithm {
  return digest.slice(0, digest.indexOf(':')) as DigestAlgorithm;
}
