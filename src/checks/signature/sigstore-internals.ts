/**
 * The one adapter around a sigstore-js internal. sigstore-js requires a signing time for
 * certificates; for signatures that carry none (BYO PKI without Rekor or TSA, transparencyLog:
 * optional) the chain is checked at the current time with sigstore-js's own certificate verification,
 * as cosign does. That function is not part of @sigstore/verify's public API, so it is imported here
 * and nowhere else; test/unit/checks/signature/sigstore-internals.test.ts fails loudly if a release
 * moves, renames or reshapes it.
 */
import type { SignedEntity, Signer, TrustMaterial } from '@sigstore/verify';
import { verifyCertificate } from '@sigstore/verify/dist/key/index.js';

/** sigstore-js's own certificate type (its @sigstore/core, which may differ from ours). */
export type LeafCertificate = Extract<SignedEntity['key'], { $case: 'certificate' }>['certificate'];

export interface CertificateChainResult {
  signer: Signer;
  /** Verified SCTs (none when the root has no CT logs or the certificate embeds none). */
  sctCount: number;
}

/** Verifies `leaf` chains to the root's certificate authorities at `at` and checks its SCTs; throws VerificationError. */
export function verifyCertificateChainAt(
  leaf: LeafCertificate,
  at: Date,
  material: TrustMaterial,
): CertificateChainResult {
  const result = verifyCertificate(leaf, [at], material);
  return { signer: result.signer, sctCount: result.scts.length };
}
