/**
 * The one adapter around sigstore-js internals. Two things live here:
 *
 * - sigstore-js requires a signing time for certificates; for signatures that carry none (BYO PKI
 *   without Rekor or TSA, transparencyLog: optional) the chain is checked at the current time with
 *   sigstore-js's own certificate verification, as cosign does. That function is not part of
 *   @sigstore/verify's public API, so it is imported here and nowhere else.
 * - sigstore-js re-encodes a certificate from its parsed ASN.1 tree every time it compares two
 *   certificates or verifies one (`X509Certificate.equals` / `verify` / `publicKey` call
 *   `ASN1Obj.toDER()`, which grows a fresh zeroed 1 KiB buffer per node), about ten times per keyless
 *   signature, and re-verifies the trusted root certificate's self-signature each time. For
 *   certificates that are parsed and never modified (the trusted roots' and a bundle's leaf), each
 *   node's encoding is the bytes it was parsed from (checked to be what `toDER` would write) or
 *   computed once by sigstore-js's own `toDER`, and then reused (the trees frozen: sigstore-js
 *   never writes into them, and a write would throw instead of leaving stale bytes); a trusted
 *   certificate's self-signature is verified once, and its public key imported once (OpenSSL 3's
 *   key import costs as much as a verification) instead of for every leaf it issued. Every leaf is
 *   still verified against its issuer, and every SCT, log entry and signature as before. The copy
 *   of the leaf sigstore-js strips of its SCT extension is made from the parsed tree, not parsed
 *   again (only the nodes its splice reaches are new), and certificates are parsed without
 *   capturing stacks for the errors the parser swallows. The encodings' memo is asn1-memo.ts.
 *
 * test/unit/checks/signature/sigstore-internals.test.ts fails loudly if a release moves, renames or
 * reshapes any of it.
 */
import { createPublicKey, verify as verifySignature, type KeyObject } from 'node:crypto';
import type { Signer, TrustMaterial } from '@sigstore/verify';
import { verifyCertificate } from '@sigstore/verify/dist/key/index.js';
import { copyOf, isMemoised, memoiseEncoding, sealEncoding, type LeafCertificate } from './asn1-memo.js';

export { memoiseEncoding, type LeafCertificate };

/**
 * Runs `run` with V8's stack capture off: for code that throws and catches errors on its normal path,
 * each capturing a stack nobody reads. sigstore-js's ASN.1 parser tries every OCTET STRING's content
 * as nested ASN.1 (a Fulcio issuer, an SCT list are not: about three errors per certificate); Node
 * 24's `createPublicKey` tells a KeyObject from key material by catching a failed brand check.
 * Synchronous, so nothing else runs meanwhile; an error that escapes keeps its message, not a stack.
 */
export function withoutStackTraces<T>(run: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return run();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

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

/** Certificates of trust material, and their public keys imported once (lazily: a key that does
 * not import fails where sigstore-js would have failed, in the check that uses it). */
const trusted = new WeakSet<object>();
const trustedKeys = new WeakMap<object, KeyObject>();

function trustedKey(cert: LeafCertificate): KeyObject {
  let key = trustedKeys.get(cert);
  if (key === undefined) {
    key = createPublicKey({ key: cert.publicKey, format: 'der', type: 'spki' });
    trustedKeys.set(cert, key);
  }
  return key;
}

/** What `X509Certificate.verify(issuer)` does (@sigstore/core), with the issuer's key already imported. */
function verifyIssuedBy(cert: LeafCertificate, key: KeyObject): boolean {
  try {
    return verifySignature(cert.signatureAlgorithm, cert.tbsCertificate.toDER(), key, cert.signatureValue);
  } catch {
    return false; // as sigstore-js: a signature that cannot be checked does not verify
  }
}

function defineMethod(target: object, name: string, value: unknown): void {
  Object.defineProperty(target, name, { value, configurable: true, writable: true });
}

/**
 * A bundle's leaf certificate: encodings memoised, and checked against a trusted issuer with that
 * issuer's key imported once. Any other issuer goes through sigstore-js's own `verify`.
 */
export function memoiseLeaf<C extends LeafCertificate>(cert: C): C {
  if (isMemoised(cert)) return cert;
  sealEncoding(cert);
  // The copy sigstore-js makes to strip the SCT extension: only the path its splice changes is new.
  const clone = cert.clone;
  defineMethod(
    cert,
    'clone',
    () => copyOf(cert) ?? memoiseEncoding(withoutStackTraces(() => clone.call(cert))),
  );
  const verify = cert.verify;
  defineMethod(cert, 'verify', (issuer?: LeafCertificate): boolean =>
    issuer !== undefined && trusted.has(issuer)
      ? verifyIssuedBy(cert, trustedKey(issuer))
      : verify.call(cert, issuer),
  );
  return cert;
}

/**
 * A trusted certificate: encodings memoised, its key imported once, and whether it is signed by
 * itself or by another trusted certificate decided once per issuer (the same bytes give the same
 * answer).
 */
function memoiseTrusted(cert: LeafCertificate): void {
  sealEncoding(cert);
  trusted.add(cert);
  const verify = cert.verify;
  const byIssuer = new WeakMap<object, boolean>();
  defineMethod(cert, 'verify', (issuer?: LeafCertificate): boolean => {
    const by = issuer ?? cert;
    if (!trusted.has(by)) return verify.call(cert, issuer);
    let ok = byIssuer.get(by);
    if (ok === undefined) {
      ok = verify.call(cert, issuer);
      byIssuer.set(by, ok);
    }
    return ok;
  });
}

/** Memoises the certificates of trust material made by `toTrustMaterial` (CAs and TSAs); returns it. */
export function withMemoisedCertificates(material: TrustMaterial): TrustMaterial {
  for (const authority of [...material.certificateAuthorities, ...material.timestampAuthorities]) {
    for (const cert of authority.certChain) memoiseTrusted(cert);
  }
  return material;
}
