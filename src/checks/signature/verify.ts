/**
 * Verifies candidates (see fetch.ts) against compiled authorities with one sigstore-js Verifier per
 * trusted root (and per key): certificate chain, SCTs, Rekor SET / inclusion proof, RFC 3161
 * timestamps, signature. Then imagegate's own rules: the identity (anchored), the transparency-log
 * requirement, and that the signed payload names the digest it was found under.
 */
import { SignatureError } from '../../errors.js';
import type { CompiledAuthority } from './authorities.js';
import { verifyCertificateSignature, type KeylessProofs } from './certificate-signature.js';
import type { Candidate } from './fetch.js';
import { verifyKeySignature } from './key-signature.js';
import { Rejected, classifyError, type Rejection } from './rejection.js';
import { readSignedPayload, type InTotoStatement } from './signed-payload.js';
import type { TrustedRootStore } from './trusted-roots.js';

export type { Rejection } from './rejection.js';
export { COSIGN_SIGN_PREDICATE, type InTotoStatement } from './signed-payload.js';

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
  /**
   * Verified with a key service's key: when that answer stops being current (epoch ms). Caches keep
   * nothing resting on it past this (`keptFor`); never shown in findings or audit records.
   */
  keyFreshUntil?: number;
}

/**
 * How long a cache may keep a result resting on `items`: `ttlMs`, cut short by the earliest
 * `keyFreshUntil` among them (0 or less: not at all).
 */
export function keptFor(items: Iterable<VerifiedItem>, ttlMs: number, now: number): number {
  let ms = ttlMs;
  for (const item of items) {
    if (item.keyFreshUntil !== undefined) ms = Math.min(ms, item.keyFreshUntil - now);
  }
  return ms;
}

export type CandidateResult = { ok: true; item: VerifiedItem } | { ok: false; rejection: Rejection };

export interface VerifyContext {
  trustedRoots: TrustedRootStore;
  signal: AbortSignal;
  /** Bytes of the manifest at `digest` (digest-verified); message-signature bundles sign these. */
  manifestBytes(digest: string): Promise<Buffer>;
  /**
   * Per candidate, what its certificate and logs proved (certificate-signature.ts): given, the
   * authorities of one loop over candidates verify a keyless bundle once per trusted root.
   */
  keylessProofs?: WeakMap<Candidate, KeylessProofs>;
}

function proofsOf(ctx: VerifyContext, candidate: Candidate): KeylessProofs | undefined {
  const all = ctx.keylessProofs;
  if (all === undefined) return undefined;
  let proofs = all.get(candidate);
  if (proofs === undefined) {
    proofs = new Map();
    all.set(candidate, proofs);
  }
  return proofs;
}

async function verifyOne(
  candidate: Extract<Candidate, { ok: true }>,
  authority: CompiledAuthority,
  ctx: VerifyContext,
): Promise<VerifiedItem> {
  const bundle = candidate.bundle;
  let artifact = candidate.artifact;
  if (bundle.content.$case === 'messageSignature' && artifact === undefined) {
    artifact = await ctx.manifestBytes(candidate.subjectDigest);
  }

  const signed = {
    ...(artifact !== undefined ? { artifact } : {}),
    ...(candidate.envelope ? { envelope: candidate.envelope } : {}),
  };
  const { signer, keyId, tlogEntries, time, keyFreshUntil } =
    authority.kind === 'key'
      ? await verifyKeySignature(bundle, signed, authority, ctx.trustedRoots, ctx.signal)
      : verifyCertificateSignature(bundle, signed, authority, ctx.trustedRoots, proofsOf(ctx, candidate));

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
    ...(keyFreshUntil !== undefined ? { keyFreshUntil } : {}),
  };
  // Only now is the content believed.
  const facts = await readSignedPayload(candidate, artifact, () =>
    ctx.manifestBytes(candidate.subjectDigest),
  );
  return { ...base, ...facts };
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
    // The authority's key itself is unusable (a Secret or key service served no valid public key).
    if (err instanceof SignatureError && err.code === 'KEY_INVALID') {
      return {
        ok: false,
        rejection: {
          authority: authority.name,
          source: candidate.source,
          code: 'KEY_INVALID',
          reason: err.message,
        },
      };
    }
    const m = classifyError(err);
    return { ok: false, rejection: { authority: authority.name, source: candidate.source, ...m } };
  }
}
