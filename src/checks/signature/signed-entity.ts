/**
 * Turns a bundle into the SignedEntity sigstore-js verifies, with the adjustments imagegate needs, and
 * reads what a verified entity proves: its transparency log entries and its signing time.
 */
import type { Bundle } from '@sigstore/bundle';
import { crypto } from '@sigstore/core';
import { toSignedEntity, type SignedEntity, type Signer } from '@sigstore/verify';
import { Rejected } from './rejection.js';
import { memoiseLeaf, withoutStackTraces } from './sigstore-internals.js';

/** The bytes a signature was made over, when they are not in the bundle. */
export interface SignedBytes {
  /** A message signature's artifact (legacy payload or the manifest). */
  artifact?: Buffer;
  /** A legacy `.att` layer's whole DSSE envelope: cosign 2 timestamps that, not the signature. */
  envelope?: Buffer;
}

export interface SigningTime {
  signedAt: string;
  timeSource: 'rekor' | 'tsa';
}

/** What the key or certificate check established about one bundle. */
export interface VerifiedSignature {
  signer: Signer;
  keyId?: string;
  tlogEntries: number;
  time?: SigningTime;
  /** The key's `PublicKeyVersion.freshUntil` (a key service's key): the verdict is not reused past it. */
  keyFreshUntil?: number;
}

/**
 * `envelope`: a legacy attestation's DSSE envelope (its timestamp may cover it); `hash`: the digest a
 * key's signatures use (a KMS key's metadata says; default the bundle's).
 */
export function toVerifiableEntity(
  bundle: Bundle,
  artifact: Buffer | undefined,
  envelope?: Buffer,
  hash?: string,
): SignedEntity {
  // The leaf (and any RFC 3161 timestamp) is parsed here, and never modified: sigstore-js need not
  // re-encode it at each use.
  const entity = withoutStackTraces(() => toSignedEntity(bundle, artifact));
  if (entity.key.$case === 'certificate') memoiseLeaf(entity.key.certificate);
  return timestampedEnvelope(ed25519Aware(entity, artifact, hash), envelope);
}

/**
 * cosign 2 timestamps a legacy attestation over the layer's whole DSSE envelope, and cosign (2 and 3)
 * verifies a legacy attestation's timestamp over those bytes; cosign 3 timestamps the signature, as a
 * bundle does. sigstore-js checks a timestamp against `signature.signature`: when the timestamp's
 * message imprint is the envelope's digest, it is given the envelope there (signature checks keep
 * using the envelope's signature). sigstore-js still verifies the imprint and the TSA's signature.
 */
function timestampedEnvelope(entity: SignedEntity, envelope: Buffer | undefined): SignedEntity {
  if (envelope === undefined) return entity;
  const covers = entity.timestamps.some((t) => {
    if (t.$case !== 'timestamp-authority') return false;
    // The algorithm's name (sha256…), as sigstore-js's own imprint check uses it.
    const info = t.timestamp.tstInfo;
    const digest = crypto.digest(info.messageImprintHashAlgorithm, envelope);
    return crypto.bufferEqual(digest, info.messageImprintHashedMessage);
  });
  if (!covers) return entity;
  const content = entity.signature;
  return {
    ...entity,
    signature: {
      signature: envelope,
      compareSignature: (s) => content.compareSignature(s),
      compareDigest: (d) => content.compareDigest(d),
      compareSignedDigest: (d) => content.compareSignedDigest(d),
      verifySignature: (key) => content.verifySignature(key),
    },
  };
}

/**
 * Node rejects a digest name for Ed25519 (it signs the message itself); sigstore-js (4.1.3 too) always
 * passes one for message signatures. Route Ed25519 keys to `verify(null, …)`, everything else as is.
 */
function ed25519Aware(entity: SignedEntity, artifact: Buffer | undefined, hash?: string): SignedEntity {
  const content = entity.signature;
  if (artifact === undefined) return entity;
  return {
    ...entity,
    signature: {
      signature: content.signature,
      compareSignature: (s) => content.compareSignature(s),
      compareDigest: (d) => content.compareDigest(d),
      compareSignedDigest: (d) => content.compareSignedDigest(d),
      verifySignature: (key) =>
        key.asymmetricKeyType === 'ed25519'
          ? crypto.verify(artifact, key, content.signature)
          : hash !== undefined && hash !== 'sha256'
            ? crypto.verify(artifact, key, content.signature, hash)
            : content.verifySignature(key),
    },
  };
}

export function withPublicKeyHint(bundle: Bundle, hint: string): Bundle {
  return {
    ...bundle,
    verificationMaterial: {
      ...bundle.verificationMaterial,
      content: { $case: 'publicKey', publicKey: { hint } },
    },
  } as Bundle;
}

/** The number of log entries; rejects up front when the authority requires one and there is none. */
export function countTlogEntries(entity: SignedEntity, required: boolean): number {
  const n = entity.tlogEntries.length;
  if (required && n === 0) throw new Rejected('TLOG_MISSING', 'without a transparency log entry');
  return n;
}

export function hasTimestamp(entity: SignedEntity): boolean {
  return entity.timestamps.length > 0;
}

/**
 * The earliest signing time of an entity that sigstore-js has verified: Verifier.verify checks every
 * timestamp it carries (TSA signatures, Rekor SETs) and fails otherwise, so after it returned these
 * times are trusted. A log entry without an inclusion promise has no signed time (as in sigstore-js).
 */
export function signingTime(entity: SignedEntity): SigningTime | undefined {
  let best: { at: Date; source: 'rekor' | 'tsa' } | undefined;
  for (const t of entity.timestamps) {
    let at: Date | undefined;
    let source: 'rekor' | 'tsa';
    if (t.$case === 'timestamp-authority') {
      at = t.timestamp.signingTime;
      source = 'tsa';
    } else {
      if (t.tlogEntry.inclusionPromise === undefined) continue;
      at = new Date(Number(t.tlogEntry.integratedTime) * 1000);
      source = 'rekor';
    }
    if (Number.isNaN(at.getTime())) continue;
    if (best === undefined || at < best.at) best = { at, source };
  }
  return best === undefined ? undefined : { signedAt: best.at.toISOString(), timeSource: best.source };
}
