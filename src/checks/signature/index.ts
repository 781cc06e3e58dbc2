/**
 * The signature check (barrel): check.ts is the check and its policy section, verifier.ts compiles a
 * section into a verifier, authorities.ts compiles authorities, fetch.ts finds candidates, verify.ts
 * verifies one, trusted-roots.ts loads trust material, verdict-cache.ts shares passing verdicts.
 */
export { compileSignatureCheck, imageSignatureWhere, signatureCheck } from './check.js';
export { compileSignatureVerifier } from './verifier.js';
export { SignatureSpec, Authority, signatureSpecProblems } from './schema.js';
export { parseTrustedRootFlag, loadTrustedRoots, PUBLIC_GOOD } from './trusted-roots.js';
export { defaultCacheDir } from './tuf-cache.js';
export type {
  TrustedRootStore,
  TrustedRootStatus,
  LoadTrustedRootsOptions,
  TrustedRootFile,
} from './trusted-roots.js';
export type { KeySecretReader, KmsKeyReader, PublicKeyVersion, SecretKeyReference } from './authorities.js';
export type { KmsKeyReference } from './key-source.js';
export { assertSupportedKey, keyIdOf } from './key-source.js';
export type { VerifiedItem, InTotoStatement, Rejection } from './verify.js';
export type { DigestVerification, SignatureDeps, SignatureVerdict, SignatureVerifier } from './types.js';
export { VerdictCache, type VerdictCacheOptions } from './verdict-cache.js';
export { SignatureError } from '../../errors.js';
