/**
 * Verifies candidates (see fetch.ts) against compiled authorities with one sigstore-js Verifier per
 * trusted root (and per key): certificate chain, SCTs, Rekor SET / inclusion proof, RFC 3161
 * timestamps, signature. Then imagegate's own rules: the identity (anchored), the transparency-log
 * requirement, and that the signed payload names the digest it was found under.
 */
import type { Bundle } from '@sigstore/bundle';
import { crypto } from '@sigstore/core';
import {
  PolicyError,
  VerificationError,
  Verifier,
  toSignedEntity,
  type SignedEntity,
  type Signer,
  type TrustMaterial,
} from '@sigstore/verify';
// sigstore-js requires a signing time for certificates; for signatures that carry none (BYO PKI
// without Rekor or TSA, transparencyLog: optional) the chain is checked at the current time with
// sigstore-js's own certificate verification, as cosign does.
import { verifyCertificate } from '@sigstore/verify/dist/key/index.js';
import type { KeyObject } from 'node:crypto';
import { errorMessage, type SignatureErrorCode } from '../../errors.js';
import type { CompiledAuthority, KeyAuthority } from './authorities.js';
import { toSimpleSigningClaims } from './cosign-legacy.js';
import type { Candidate } from './fetch.js';
import type { LoadedTrustedRoot, TrustedRootStore } from './trusted-roots.js';

export const COSIGN_SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';
const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
const COSIGN_SIMPLE_SIGNING_TYPE = 'cosign container image signature';

export interface InTotoStatement {
  _type: string;
  subject: { name?: string; digest: Record<string, string> }[];
  predicateType: string;
  predicate?: unknown;
}

export interface VerifiedItem {
  kind: 'signature' | 'attestation';
  /** Name of the authority that verified it. */
  authority: string;
  /** The digest it covers. */
  digest: string;
  source: string;
  format: 'cosign-legacy' | 'sigstore-bundle';
  signer: { subject?: string; issuer?: string; keyId?: string };
  /** Number of transparency log entries verified with it. */
  tlogEntries: number;
  /** Legacy payload `critical.identity.docker-reference` (reported, not enforced). */
  dockerReference?: string;
  predicateType?: string;
  statement?: InTotoStatement;
  /**
   * Earliest verified signing time (ISO 8601): a Rekor integrated time backed by a verified SET, or a
   * verified RFC 3161 timestamp. Absent when the signature carries no verifiable time (e.g. a key
   * signature without log entry or timestamp).
   */
  signedAt?: string;
  /** Where signedAt comes from. */
  timeSource?: 'rekor' | 'tsa';
}

export interface Rejection {
  authority: string;
  source: string;
  code: SignatureErrorCode;
  /** Short phrase for denial messages, e.g. `with an invalid Rekor SET`. */
  reason: string;
}

export type CandidateResult = { ok: true; item: VerifiedItem } | { ok: false; rejection: Rejection };

export interface VerifyContext {
  trustedRoots: TrustedRootStore;
  signal: AbortSignal;
  /** Bytes of the manifest at `digest` (digest-verified); message-signature bundles sign these. */
  manifestBytes(digest: string): Promise<Buffer>;
}

/* ---------------------------------------------------------------- verifier cache (per root) */

const EMPTY_MATERIAL: Omit<TrustMaterial, 'publicKey'> = {
  certificateAuthorities: [],
  timestampAuthorities: [],
  tlogs: [],
  ctlogs: [],
};

const cache = new WeakMap<object, Map<string, Verifier>>();

function cachedVerifier(owner: object, key: string, make: () => Verifier): Verifier {
  let byKey = cache.get(owner);
  if (byKey === undefined) {
    byKey = new Map();
    cache.set(owner, byKey);
  }
  let v = byKey.get(key);
  if (v === undefined) {
    v = make();
    byKey.set(key, v);
  }
  return v;
}

const noKeys: TrustMaterial['publicKey'] = (hint) => {
  throw new VerificationError({ code: 'PUBLIC_KEY_ERROR', message: `key not found: ${hint}` });
};

function keylessVerifier(root: LoadedTrustedRoot, tlog: boolean): Verifier {
  const ct = root.summary.ctlogs > 0 ? 1 : 0;
  return cachedVerifier(
    root,
    `keyless|${tlog}`,
    () =>
      new Verifier(root.material, { tlogThreshold: tlog ? 1 : 0, ctlogThreshold: ct, timestampThreshold: 1 }),
  );
}

function keyVerifier(
  root: LoadedTrustedRoot | undefined,
  key: KeyObject,
  keyId: string,
  tlog: boolean,
  rootCacheOwner: object,
): Verifier {
  return cachedVerifier(root ?? rootCacheOwner, `key|${keyId}|${tlog}`, () => {
    const material: TrustMaterial = {
      ...(root?.material ?? EMPTY_MATERIAL),
      publicKey: (hint) => {
        if (hint !== keyId) return noKeys(hint);
        return { publicKey: key, validFor: () => true };
      },
    };
    return new Verifier(material, { tlogThreshold: tlog ? 1 : 0, ctlogThreshold: 0, timestampThreshold: 0 });
  });
}

/* ---------------------------------------------------------------- error mapping */

function mapError(err: unknown): { code: SignatureErrorCode; reason: string } {
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

class Rejected extends Error {
  constructor(
    readonly code: SignatureErrorCode,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/* ---------------------------------------------------------------- entity preparation */

function withPublicKeyHint(bundle: Bundle, hint: string): Bundle {
  return {
    ...bundle,
    verificationMaterial: {
      ...bundle.verificationMaterial,
      content: { $case: 'publicKey', publicKey: { hint } },
    },
  } as Bundle;
}

/**
 * Node rejects a digest name for Ed25519 (it signs the message itself); sigstore-js 3.1.1 always
 * passes one for message signatures. Route Ed25519 keys to `verify(null, …)`, everything else as is.
 */
function ed25519Aware(entity: SignedEntity, artifact: Buffer | undefined): SignedEntity {
  const content = entity.signature;
  if (artifact === undefined) return entity;
  return {
    ...entity,
    signature: {
      signature: content.signature,
      compareSignature: (s) => content.compareSignature(s),
      compareDigest: (d) => content.compareDigest(d),
      verifySignature: (key) =>
        key.asymmetricKeyType === 'ed25519'
          ? crypto.verify(artifact, key, content.signature)
          : content.verifySignature(key),
    },
  };
}

function hasTimestamp(entity: SignedEntity): boolean {
  return entity.timestamps.length > 0;
}

/**
 * The earliest signing time of an entity that sigstore-js has verified: Verifier.verify checks every
 * timestamp it carries (TSA signatures, Rekor SETs) and fails otherwise, so after it returned these
 * times are trusted. A log entry without an inclusion promise has no signed time (as in sigstore-js).
 */
function signingTime(entity: SignedEntity): { signedAt: string; timeSource: 'rekor' | 'tsa' } | undefined {
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

/* ---------------------------------------------------------------- payload rules */

function statementOf(bundle: Bundle): InTotoStatement {
  if (bundle.content.$case !== 'dsseEnvelope') throw new Error('not a DSSE envelope');
  const env = bundle.content.dsseEnvelope;
  if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new Rejected(
      'SIGNATURE_MALFORMED',
      `with DSSE payload type ${env.payloadType} (want ${IN_TOTO_PAYLOAD_TYPE})`,
    );
  }
  let s: InTotoStatement;
  try {
    s = JSON.parse(env.payload.toString('utf8')) as InTotoStatement;
  } catch {
    throw new Rejected('SIGNATURE_MALFORMED', 'with a DSSE payload that is not JSON');
  }
  if (typeof s.predicateType !== 'string' || !Array.isArray(s.subject)) {
    throw new Rejected('SIGNATURE_MALFORMED', 'with a DSSE payload that is not an in-toto statement');
  }
  return s;
}

function coversDigest(s: InTotoStatement, digest: string): boolean {
  const [alg, hex] = digest.split(':');
  return s.subject.some(
    (sub) => typeof sub?.digest === 'object' && alg !== undefined && sub.digest[alg] === hex,
  );
}

/* ---------------------------------------------------------------- one candidate, one authority */

async function verifyOne(
  candidate: Extract<Candidate, { ok: true }>,
  authority: CompiledAuthority,
  ctx: VerifyContext,
): Promise<VerifiedItem> {
  const tlogRequired = authority.transparencyLog === 'required';
  let bundle = candidate.bundle;
  const isMessage = bundle.content.$case === 'messageSignature';
  let artifact = candidate.artifact;
  if (isMessage && artifact === undefined) artifact = await ctx.manifestBytes(candidate.subjectDigest);

  let signer: Signer;
  let keyId: string | undefined;
  let tlogEntries: number;
  let time: ReturnType<typeof signingTime>;
  if (authority.kind === 'key') {
    const { key, id } = await (authority as KeyAuthority).publicKey(ctx.signal);
    keyId = id;
    let root: LoadedTrustedRoot | undefined;
    try {
      root = ctx.trustedRoots.get(authority.trustedRoot);
    } catch (err) {
      // A key signature needs the root only for its log entries and timestamps.
      if (tlogRequired) throw err;
    }
    bundle = withPublicKeyHint(bundle, id);
    let entity = ed25519Aware(toSignedEntity(bundle, artifact), artifact);
    if (root === undefined) entity = { ...entity, tlogEntries: [], timestamps: [] };
    tlogEntries = entity.tlogEntries.length;
    if (tlogRequired && tlogEntries === 0)
      throw new Rejected('TLOG_MISSING', 'without a transparency log entry');
    try {
      signer = keyVerifier(root, key, id, tlogRequired, authority).verify(entity);
      time = signingTime(entity);
    } catch (err) {
      const m = mapError(err);
      throw new Rejected(m.code, m.code === 'SIGNATURE_INVALID' ? `not signed by key ${id}` : m.reason);
    }
  } else {
    if (bundle.verificationMaterial.content.$case === 'publicKey') {
      throw new Rejected('IDENTITY_MISMATCH', 'signed with a key, not a certificate');
    }
    const root = ctx.trustedRoots.get(authority.trustedRoot);
    const entity = ed25519Aware(toSignedEntity(bundle, artifact), artifact);
    tlogEntries = entity.tlogEntries.length;
    if (tlogRequired && tlogEntries === 0)
      throw new Rejected('TLOG_MISSING', 'without a transparency log entry');
    try {
      if (!hasTimestamp(entity) && tlogEntries === 0 && !tlogRequired) {
        signer = verifyAtCurrentTime(entity, root);
      } else {
        signer = keylessVerifier(root, tlogRequired).verify(entity);
        time = signingTime(entity);
      }
    } catch (err) {
      if (err instanceof Rejected) throw err;
      const m = mapError(err);
      throw new Rejected(m.code, m.reason);
    }
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
  }

  const identity = signer.identity;
  const base = {
    authority: authority.name,
    digest: candidate.subjectDigest,
    source: candidate.source,
    format: candidate.format,
    signer: {
      ...(identity?.subjectAlternativeName !== undefined ? { subject: identity.subjectAlternativeName } : {}),
      ...(identity?.extensions?.issuer !== undefined ? { issuer: identity.extensions.issuer } : {}),
      ...(keyId !== undefined ? { keyId } : {}),
    },
    tlogEntries,
    ...(time !== undefined ? time : {}),
  };

  // Only now is the content believed.
  if (bundle.content.$case === 'dsseEnvelope') {
    const statement = statementOf(bundle);
    if (!coversDigest(statement, candidate.subjectDigest)) {
      throw new Rejected('DIGEST_MISMATCH', `whose in-toto subject does not name ${candidate.subjectDigest}`);
    }
    const kind = statement.predicateType === COSIGN_SIGN_PREDICATE ? 'signature' : 'attestation';
    return { ...base, kind, predicateType: statement.predicateType, statement };
  }
  if (candidate.format === 'cosign-legacy') {
    let claims;
    try {
      claims = toSimpleSigningClaims(artifact!);
    } catch (err) {
      throw new Rejected('SIGNATURE_MALFORMED', `with an unreadable payload (${errorMessage(err)})`);
    }
    if (claims.type.toLowerCase() !== COSIGN_SIMPLE_SIGNING_TYPE) {
      throw new Rejected('SIGNATURE_MALFORMED', `with payload type "${claims.type}"`);
    }
    if (claims.dockerManifestDigest !== candidate.subjectDigest) {
      throw new Rejected(
        'DIGEST_MISMATCH',
        `over digest ${claims.dockerManifestDigest} (this image is ${candidate.subjectDigest})`,
      );
    }
    return {
      ...base,
      kind: 'signature',
      ...(claims.dockerReference !== undefined ? { dockerReference: claims.dockerReference } : {}),
    };
  }
  // A message-signature bundle signs the image manifest bytes themselves (fetched by digest).
  return { ...base, kind: 'signature' };
}

function verifyAtCurrentTime(entity: SignedEntity, root: LoadedTrustedRoot): Signer {
  if (entity.key.$case !== 'certificate')
    throw new Rejected('IDENTITY_MISMATCH', 'signed with a key, not a certificate');
  const result = verifyCertificate(entity.key.certificate, [new Date()], root.material);
  if (root.summary.ctlogs > 0 && result.scts.length === 0) {
    throw new Rejected('CERTIFICATE_INVALID', 'with a certificate without SCT');
  }
  if (!entity.signature.verifySignature(result.signer.key)) {
    throw new Rejected('SIGNATURE_INVALID', 'with a signature that does not verify');
  }
  return result.signer;
}

/** Verifies one candidate for one authority; never throws except for indeterminate conditions. */
export async function verifyCandidate(
  candidate: Candidate,
  authority: CompiledAuthority,
  ctx: VerifyContext,
): Promise<CandidateResult> {
  if (!candidate.ok) {
    return {
      ok: false,
      rejection: {
        authority: authority.name,
        source: candidate.source,
        code: 'SIGNATURE_MALFORMED',
        reason: `unreadable (${candidate.reason})`,
      },
    };
  }
  try {
    return { ok: true, item: await verifyOne(candidate, authority, ctx) };
  } catch (err) {
    if (err instanceof Rejected) {
      return {
        ok: false,
        rejection: {
          authority: authority.name,
          source: candidate.source,
          code: err.code,
          reason: err.reason,
        },
      };
    }
    // Trusted root or secret unavailable, registry errors: the caller decides (indeterminate).
    if (err instanceof Error && 'indeterminate' in err && err.indeterminate === true) throw err;
    const m = mapError(err);
    return { ok: false, rejection: { authority: authority.name, source: candidate.source, ...m } };
  }
}
