/**
 * Gathers the verified evidence for one required attestation: the DSSE attestations stored for a
 * digest (legacy `.att` tags and Sigstore bundle referrers, read by the signature check's fetch),
 * each verified with the signature check's verifier against this attestation's authorities (chain,
 * transparency log, timestamps, identity, claims, and that the in-toto subject names the digest).
 * Nothing here reads a predicate that has not verified.
 */
import { createHash } from 'node:crypto';
import type { ImageReference } from '../../registry/reference.js';
import type { RegistryAccess } from '../../registry/types.js';
import { compileAuthorities, type CompiledAuthority } from '../signature/authorities.js';
import { fetchCandidates, type Candidate } from '../signature/fetch.js';
import type { KeySecretReader, KmsKeyReader } from '../signature/authorities.js';
import type { TrustedRootStore } from '../signature/trusted-roots.js';
import { verifyCandidate, type VerifiedItem, type VerifyContext } from '../signature/verify.js';
import type { EvidenceCache, SizedEvidence } from './evidence-cache.js';
import { toPredicateTypeURI } from './predicate-types.js';
import type { AttestationSpec } from './schema.js';
import type { AttestationEvidence, DigestEvidence } from './types.js';

/**
 * Largest attestation payload read (the DSSE envelope or bundle, checked against the registry's
 * descriptor size before anything is downloaded or parsed). SBOMs of large images run to megabytes.
 */
export const MAX_ATTESTATION_BYTES = 16 * 1024 * 1024;

export interface AttestationDeps {
  trustedRoots: TrustedRootStore;
  secrets?: KeySecretReader;
  kms?: KmsKeyReader;
  /** Verified evidence shared across reviews; none: verify each time. */
  evidence?: EvidenceCache;
  /** Default MAX_ATTESTATION_BYTES. */
  maxPayloadBytes?: number;
}

export interface AttestationVerifier {
  readonly authorities: readonly CompiledAuthority[];
  readonly threshold: number;
  readonly maxPayloadBytes: number;
  /** `platforms` are consulted only when the image's own digest does not carry enough. */
  gather(
    registry: RegistryAccess,
    reference: ImageReference,
    digest: string,
    platforms: readonly { platform: string; digest: string }[],
    signal: AbortSignal,
  ): Promise<AttestationEvidence>;
}

function payloadBytes(c: Extract<Candidate, { ok: true }>): number {
  return c.bundle.content.$case === 'dsseEnvelope' ? c.bundle.content.dsseEnvelope.payload.length : 0;
}

export function distinctAuthorities(items: readonly VerifiedItem[]): Set<string> {
  return new Set(items.map((v) => v.authority));
}

export function compileAttestationVerifier(
  spec: AttestationSpec,
  where: string,
  deps: AttestationDeps,
): AttestationVerifier {
  const { authorities, threshold } = compileAuthorities(spec, where, deps);
  const maxPayloadBytes = deps.maxPayloadBytes ?? MAX_ATTESTATION_BYTES;
  const predicateType = toPredicateTypeURI(spec.predicateType, `${where}.predicateType`);

  async function gatherDigest(
    registry: RegistryAccess,
    reference: ImageReference,
    digest: string,
    signal: AbortSignal,
  ): Promise<{ evidence: DigestEvidence; bytes: number }> {
    const all = await fetchCandidates(
      registry,
      reference,
      digest,
      { attestations: true, signatures: false, maxPayloadBytes },
      signal,
    );
    // Message signatures (a bundle over the manifest) are not attestations.
    const candidates = all.filter((c) => !c.ok || c.bundle.content.$case === 'dsseEnvelope');
    const ctx: VerifyContext = {
      trustedRoots: deps.trustedRoots,
      signal,
      keylessProofs: new WeakMap(),
      manifestBytes: async (d: string) =>
        Buffer.from((await registry.getManifest(reference, d, signal)).bytes),
    };
    const evidence: DigestEvidence = {
      digest,
      found: candidates.length,
      verified: [],
      otherTypes: [],
      rejections: [],
      tooLarge: [],
    };
    let bytes = 0;
    for (const c of candidates) {
      if (!c.ok && c.tooLarge !== undefined) {
        evidence.tooLarge.push(c.tooLarge);
        continue;
      }
      for (const a of authorities) {
        const r = await verifyCandidate(c, a, ctx);
        if (!r.ok) {
          evidence.rejections.push(r.rejection);
        } else if (r.item.predicateType === predicateType) {
          evidence.verified.push(r.item);
          if (c.ok) bytes += payloadBytes(c);
        } else if (
          r.item.predicateType !== undefined &&
          !evidence.otherTypes.includes(r.item.predicateType)
        ) {
          evidence.otherTypes.push(r.item.predicateType);
        }
      }
    }
    return { evidence, bytes };
  }

  async function gather(
    registry: RegistryAccess,
    reference: ImageReference,
    digest: string,
    platforms: readonly { platform: string; digest: string }[],
    signal: AbortSignal,
  ): Promise<SizedEvidence> {
    const top = await gatherDigest(registry, reference, digest, signal);
    const result: SizedEvidence = { evidence: { top: top.evidence, platforms: [] }, bytes: top.bytes };
    if (distinctAuthorities(top.evidence.verified).size >= threshold) return result;
    for (const p of platforms.filter((x) => x.digest !== digest)) {
      const g = await gatherDigest(registry, reference, p.digest, signal);
      result.evidence.platforms.push({ platform: p.platform, evidence: g.evidence });
      result.bytes += g.bytes;
    }
    return result;
  }

  // Evidence depends on the authorities and the predicate type, not on names or conditions.
  const specKey = createHash('sha256')
    .update(
      JSON.stringify([predicateType, spec.authorities, spec.threshold ?? 1, spec.transparencyLog ?? '']),
    )
    .digest('base64url')
    .slice(0, 22);

  return {
    authorities,
    threshold,
    maxPayloadBytes,
    async gather(registry, reference, digest, platforms, signal) {
      const cache = deps.evidence;
      if (cache === undefined) return (await gather(registry, reference, digest, platforms, signal)).evidence;
      const key = `${specKey} ${reference.registry}/${reference.repository}@${digest} ${platforms.map((p) => p.digest).join(',')}`;
      return cache.verify(key, signal, (s) => gather(registry, reference, digest, platforms, s));
    },
  };
}
