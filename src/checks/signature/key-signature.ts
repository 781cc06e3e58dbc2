/**
 * Checks a bundle against a key authority: the signature under the authority's public key (whatever
 * key material the bundle names), plus the log entries and timestamps the trusted root can verify.
 */
import type { Bundle } from '@sigstore/bundle';
import type { KeyAuthority, PublicKeyVersion } from './authorities.js';
import { Rejected, classifyError } from './rejection.js';
import {
  countTlogEntries,
  signingTime,
  toVerifiableEntity,
  withPublicKeyHint,
  type SignedBytes,
  type VerifiedSignature,
} from './signed-entity.js';
import type { LoadedTrustedRoot, TrustedRootStore } from './trusted-roots.js';
import { keyVerifier } from './verifier-cache.js';

/** The id the bundle's key hint and the verifier cache use: the key's, plus how it is used. */
function hintOf(v: PublicKeyVersion): string {
  return v.variant === undefined ? v.id : `${v.id}#${v.variant}`;
}

/**
 * Tries each of the authority's keys (a KMS key's every enabled version, so a rotation does not break
 * older signatures). A key whose signature matched but whose log entry or timestamp failed says why.
 */
export async function verifyKeySignature(
  bundle: Bundle,
  signed: SignedBytes,
  authority: KeyAuthority,
  trustedRoots: TrustedRootStore,
  signal: AbortSignal,
): Promise<VerifiedSignature> {
  const tlogRequired = authority.transparencyLog === 'required';
  const versions = await authority.publicKeys(signal);
  // A key signature needs the root only for its log entries and timestamps: without a required log,
  // an unavailable root (public-good offline, the default for a key) is no error to make per image.
  const root: LoadedTrustedRoot | undefined = tlogRequired
    ? trustedRoots.get(authority.trustedRoot)
    : trustedRoots.ready(authority.trustedRoot);
  const tried = new Set<string>();
  const attempt = (list: readonly PublicKeyVersion[]): VerifiedSignature | Rejected | undefined => {
    let other: Rejected | undefined;
    for (const version of list) {
      const hint = hintOf(version);
      if (tried.has(hint)) continue;
      tried.add(hint);
      let entity = toVerifiableEntity(
        withPublicKeyHint(bundle, hint),
        signed.artifact,
        signed.envelope,
        version.hash,
      );
      if (root === undefined) entity = { ...entity, tlogEntries: [], timestamps: [] };
      const tlogEntries = countTlogEntries(entity, tlogRequired);
      try {
        const signer = keyVerifier(root, version.key, hint, tlogRequired).verify(entity);
        const freshUntil = version.freshUntil;
        return {
          signer,
          keyId: version.id,
          tlogEntries,
          time: signingTime(entity),
          ...(freshUntil !== undefined ? { keyFreshUntil: freshUntil } : {}),
        };
      } catch (err) {
        const m = classifyError(err);
        if (m.code !== 'SIGNATURE_INVALID') other ??= new Rejected(m.code, m.reason);
      }
    }
    return other;
  };
  let found = attempt(versions);
  // No key verified: a key service may have a version newer than the cached ones (rate-limited there).
  if (found === undefined && authority.publicKeys.refresh !== undefined) {
    found = attempt(await authority.publicKeys.refresh(signal));
  }
  if (found instanceof Rejected) throw found;
  if (found !== undefined) return found;
  const ids = [...new Set(versions.map((v) => v.id))];
  throw new Rejected(
    'SIGNATURE_INVALID',
    ids.length === 1 ? `not signed by key ${ids[0]}` : `not signed by any of keys ${ids.join(', ')}`,
  );
}
