/**
 * Checks a bundle against a keyless authority: certificate chain to the trusted root, SCTs, log
 * entries and timestamps through sigstore-js, then the certificate identity against the authority's
 * anchored subject and issuer patterns.
 */
import type { Bundle } from '@sigstore/bundle';
import { errorMessage } from '../../errors.js';
import type { SignedEntity, Signer } from '@sigstore/verify';
import type { KeylessAuthority } from './authorities.js';
import { claimMismatch } from './fulcio-claims.js';
import { Rejected, classifyError } from './rejection.js';
import { verifyCertificateChainAt, withoutStackTraces } from './sigstore-internals.js';
import {
  countTlogEntries,
  hasTimestamp,
  signingTime,
  toVerifiableEntity,
  type SigningTime,
  type SignedBytes,
  type VerifiedSignature,
} from './signed-entity.js';
import type { LoadedTrustedRoot, TrustedRootStore } from './trusted-roots.js';
import { keylessVerifier } from './verifier-cache.js';

/**
 * What a bundle proves under one trusted root and transparency-log rule, whoever the authority
 * wants: kept per candidate (keyed by both), so authorities sharing them verify its certificate,
 * SCTs, log entries and signature once; each still checks the identity.
 */
export type KeylessProofs = Map<string, VerifiedSignature | Rejected>;

export function verifyCertificateSignature(
  bundle: Bundle,
  signed: SignedBytes,
  authority: KeylessAuthority,
  trustedRoots: TrustedRootStore,
  proofs?: KeylessProofs,
): VerifiedSignature {
  const key = `${authority.transparencyLog} ${authority.trustedRoot}`;
  let proof = proofs?.get(key);
  if (proof === undefined) {
    try {
      proof = verifyCertificateAndLogs(bundle, signed, authority, trustedRoots);
    } catch (err) {
      if (!(err instanceof Rejected)) throw err; // indeterminate (no trusted root): not kept
      proof = err;
    }
    proofs?.set(key, proof);
  }
  if (proof instanceof Rejected) throw proof;
  assertIdentityMatches(proof.signer, authority);
  return proof;
}

/** Everything but the identity: the chain to the root, SCTs, log entries, timestamps, signature. */
function verifyCertificateAndLogs(
  bundle: Bundle,
  signed: SignedBytes,
  authority: Pick<KeylessAuthority, 'transparencyLog' | 'trustedRoot'>,
  trustedRoots: TrustedRootStore,
): VerifiedSignature {
  const tlogRequired = authority.transparencyLog === 'required';
  if (bundle.verificationMaterial.content.$case === 'publicKey') {
    throw new Rejected('IDENTITY_MISMATCH', 'signed with a key, not a certificate');
  }
  const root = trustedRoots.get(authority.trustedRoot);
  const entity = toVerifiableEntity(bundle, signed.artifact, signed.envelope);
  let tlogEntries = 0;
  let signer: Signer;
  let time: SigningTime | undefined;
  try {
    tlogEntries = countTlogEntries(entity, tlogRequired);
    if (!hasTimestamp(entity) && tlogEntries === 0 && !tlogRequired) {
      signer = verifyAtCurrentTime(entity, root);
    } else {
      const verifier = keylessVerifier(root, tlogRequired);
      signer = withoutStackTraces(() => verifier.verify(entity));
      time = signingTime(entity);
    }
  } catch (err) {
    const m = err instanceof Rejected ? err : classifyError(err);
    // A missing log entry or signing time is checked before the certificate: when the certificate
    // does not chain to this root at all, that is what to say.
    if (m.code === 'TLOG_MISSING') assertChainsAtIssue(entity, root, authority.trustedRoot);
    throw err instanceof Rejected ? err : new Rejected(m.code, m.reason);
  }
  return { signer, tlogEntries, time };
}

/**
 * Throws CERTIFICATE_INVALID when the leaf does not chain to the root (with its SCTs) even at the
 * moment it was issued, so no log entry or timestamp could have made it valid.
 */
function assertChainsAtIssue(entity: SignedEntity, root: LoadedTrustedRoot, rootName: string): void {
  if (entity.key.$case !== 'certificate') return;
  const leaf = entity.key.certificate;
  try {
    verifyCertificateChainAt(leaf, leaf.notBefore, root.material);
  } catch (err) {
    throw new Rejected(
      'CERTIFICATE_INVALID',
      `with a certificate that does not chain to trusted root "${rootName}" (${errorMessage(err)})`,
    );
  }
}

function verifyAtCurrentTime(entity: SignedEntity, root: LoadedTrustedRoot): Signer {
  if (entity.key.$case !== 'certificate')
    throw new Rejected('IDENTITY_MISMATCH', 'signed with a key, not a certificate');
  // No signing time to check the chain at (no log entry, no timestamp): now, as cosign does.
  const leaf = entity.key.certificate;
  const result = withoutStackTraces(() => verifyCertificateChainAt(leaf, new Date(), root.material));
  if (root.summary.ctlogs > 0 && result.sctCount === 0) {
    throw new Rejected('CERTIFICATE_INVALID', 'with a certificate without SCT');
  }
  if (!entity.signature.verifySignature(result.signer.key)) {
    throw new Rejected('SIGNATURE_INVALID', 'with a signature that does not verify');
  }
  return result.signer;
}

function assertIdentityMatches(signer: Signer, authority: KeylessAuthority): void {
  const subject = signer.identity?.subjectAlternativeName;
  const issuer = signer.identity?.extensions?.issuer;
  const subjectOk = subject !== undefined && authority.subject.test(subject);
  // Certificates from a private PKI carry no Fulcio issuer: only `issuerRegExp: .*` accepts that.
  const issuerOk = authority.issuer.test(issuer ?? '');
  if (!subjectOk || !issuerOk) {
    const parts: string[] = [];
    if (!subjectOk) parts.push(`by subject ${subject ?? '(none)'} (wanted ${authority.subject.describe})`);
    if (!issuerOk) parts.push(`from issuer ${issuer ?? '(none)'} (wanted ${authority.issuer.describe})`);
    throw new Rejected('IDENTITY_MISMATCH', parts.join(' '));
  }
  const claim = claimMismatch(authority.claims, signer.identity?.oids ?? []);
  if (claim !== undefined) throw new Rejected('CLAIM_MISMATCH', claim);
}
