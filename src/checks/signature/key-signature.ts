/**
 * Checks a bundle against a key authority: the signature under the authority's public key (whatever
 * key material the bundle names), plus the log entries and timestamps the trusted root can verify.
 */
import type { Bundle } from '@sigstore/bundle';
import type { KeyAuthority } from './authorities.js';
import { Rejected, classifyError } from './rejection.js';
import {
  countTlogEntries,
  signingTime,
  toVerifiableEntity,
  withPublicKeyHint,
  type VerifiedSignature,
} from './signed-entity.js';
import type { LoadedTrustedRoot, TrustedRootStore } from './trusted-roots.js';
import { keyVerifier } from './verifier-cache.js';

export async function verifyKeySignature(
  bundle: Bundle,
  artifact: Buffer | undefined,
  authority: KeyAuthority,
  trustedRoots: TrustedRootStore,
  signal: AbortSignal,
): Promise<VerifiedSignature> {
  const tlogRequired = authority.transparencyLog === 'required';
  const { key, id } = await authority.publicKey(signal);
  let root: LoadedTrustedRoot | undefined;
  try {
    root = trustedRoots.get(authority.trustedRoot);
  } catch (err) {
    // A key signature needs the root only for its log entries and timestamps.
    if (tlogRequired) throw err;
  }
  let entity = toVerifiableEntity(withPublicKeyHint(bundle, id), artifact);
  if (root === undefined) entity = { ...entity, tlogEntries: [], timestamps: [] };
  const tlogEntries = countTlogEntries(entity, tlogRequired);
  try {
    const signer = keyVerifier(root, key, id, tlogRequired).verify(entity);
    return { signer, keyId: id, tlogEntries, time: signingTime(entity) };
  } catch (err) {
    const m = classifyError(err);
    throw new Rejected(m.code, m.code === 'SIGNATURE_INVALID' ? `not signed by key ${id}` : m.reason);
  }
}
