/**
 * A policy's signature section compiled into a verifier: an image passes when, for its digest,
 * signatures verified by at least `threshold` distinct authorities exist. A signature on an index
 * covers its platform manifests; a signature on every checked platform manifest is accepted too.
 */
import { createHash } from 'node:crypto';
import type { SignatureErrorCode } from '../../errors.js';
import type { ImageReference } from '../../registry/reference.js';
import type { RegistryAccess } from '../../registry/types.js';
import { compileAuthorities, type CompiledAuthority } from './authorities.js';
import { fetchCandidates, type Candidate } from './fetch.js';
import type { SignatureSpec } from './schema.js';
import type {
  DigestVerification,
  EarlyAttestations,
  SignatureDeps,
  SignatureVerdict,
  SignatureVerifier,
} from './types.js';
import type { Rejection, VerifiedItem, VerifyContext } from './verify.js';
import { worstCode } from './rejection.js';
import { isAttestationShaped } from './signed-payload.js';
import { verifyCandidate } from './verify.js';

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** `no signature from authority "ci" verified: found 2 signatures; 1 by subject …; 1 with …` */
function explain(authorities: readonly CompiledAuthority[], d: DigestVerification): string {
  if (d.found === 0) {
    const att = d.attestationsFound ?? 0;
    const only =
      att > 0
        ? ` (only ${plural(att, 'attestation')}, which ${att === 1 ? 'is' : 'are'} not a signature)`
        : '';
    return `no signatures found for ${d.digest}${only}`;
  }
  return authorities
    .map((a) => {
      const mine = d.rejections.filter((r) => r.authority === a.name);
      const counts = new Map<string, number>();
      for (const r of mine) counts.set(r.reason, (counts.get(r.reason) ?? 0) + 1);
      const why = [...counts.entries()].map(([reason, n]) => `${n} ${reason}`).join('; ');
      const ok = d.verified.filter((v) => v.authority === a.name && v.kind === 'signature').length;
      const head =
        ok > 0 ? `authority "${a.name}" verified` : `no signature from authority "${a.name}" verified`;
      return `${head}: found ${plural(d.found, 'signature')}${why.length > 0 ? `; ${why}` : ''}`;
    })
    .join('. ');
}

function authoritiesMet(d: DigestVerification): Set<string> {
  return new Set(d.verified.filter((v) => v.kind === 'signature').map((v) => v.authority));
}

/** Compile once per policy; `verify` is then cheap and shares the per-root Verifiers. */
export function compileSignatureVerifier(
  spec: SignatureSpec,
  where: string,
  deps: SignatureDeps,
): SignatureVerifier {
  const { authorities, threshold } = compileAuthorities(spec, where, deps);
  // Only keyless authorities share proofs between them (certificate-signature.ts).
  const keyless = authorities.some((a) => a.kind === 'keyless');

  async function verifyCandidates(
    registry: RegistryAccess,
    reference: ImageReference,
    candidates: readonly Candidate[],
    signal: AbortSignal,
  ): Promise<{ verified: VerifiedItem[]; rejections: Rejection[]; attestationsFound: number }> {
    // made on first use: a legacy `.sig` carries its payload and asks for no manifest
    let manifests: Map<string, Promise<Buffer>> | undefined;
    const ctx: VerifyContext = {
      trustedRoots: deps.trustedRoots,
      signal,
      keylessProofs: keyless ? new WeakMap() : undefined,
      manifestBytes(d: string): Promise<Buffer> {
        manifests ??= new Map();
        let p = manifests.get(d);
        if (p === undefined) {
          p = registry.getManifest(reference, d, signal).then((m) => Buffer.from(m.bytes));
          manifests.set(d, p);
        }
        return p;
      },
    };
    const verified: VerifiedItem[] = [];
    const rejections: Rejection[] = [];
    let attestationsFound = 0;
    for (const c of candidates) {
      // An attestation is verified for the attestations the verdict rests on, but its rejections
      // say nothing about signatures.
      const attestation = isAttestationShaped(c);
      if (attestation) attestationsFound++;
      for (const a of authorities) {
        const r = await verifyCandidate(c, a, ctx);
        if (r.ok) verified.push(r.item);
        else if (!attestation) rejections.push(r.rejection);
      }
    }
    return { verified, rejections, attestationsFound };
  }

  /** `digest`'s signatures: its `.sig` tag and bundle referrers (legacy `.att` tags only on demand). */
  async function verifyDigest(
    registry: RegistryAccess,
    reference: ImageReference,
    digest: string,
    signal: AbortSignal,
  ): Promise<DigestVerification> {
    const candidates = await fetchCandidates(registry, reference, digest, { attestations: false }, signal);
    const { verified, rejections, attestationsFound } = await verifyCandidates(
      registry,
      reference,
      candidates,
      signal,
    );
    const found = candidates.length - attestationsFound;
    return { digest, found, ...(attestationsFound > 0 ? { attestationsFound } : {}), verified, rejections };
  }

  /** The attestations verified in `digest`'s legacy `.att` tag. */
  async function legacyAttestations(
    registry: RegistryAccess,
    reference: ImageReference,
    digest: string,
    signal: AbortSignal,
  ): Promise<VerifiedItem[]> {
    const candidates = await fetchCandidates(
      registry,
      reference,
      digest,
      { attestations: true, signatures: false, referrers: false },
      signal,
    );
    const { verified } = await verifyCandidates(registry, reference, candidates, signal);
    return verified.filter((v) => v.kind === 'attestation');
  }

  /** The verdict for `top` and, when `top` alone is not signed enough, its checked `platforms`. */
  function conclude(top: DigestVerification, platforms: readonly DigestVerification[]): SignatureVerdict {
    const digests = [top, ...platforms];
    const attestations = (ds: readonly DigestVerification[]): VerifiedItem[] =>
      ds.flatMap((d) => d.verified.filter((v) => v.kind === 'attestation'));
    const pass = (ds: readonly DigestVerification[], message: string): SignatureVerdict => ({
      passed: true,
      code: 'OK',
      message,
      signatures: ds.flatMap((d) => d.verified.filter((v) => v.kind === 'signature')),
      attestations: attestations(ds),
      digests,
    });
    const describe = (d: DigestVerification): string => {
      const names = [...authoritiesMet(d)];
      return `${d.digest} signed by ${names.map((n) => `"${n}"`).join(', ')}`;
    };

    if (authoritiesMet(top).size >= threshold) return pass([top], describe(top));
    if (platforms.length > 0 && platforms.every((d) => authoritiesMet(d).size >= threshold)) {
      return pass(platforms, `every checked platform is signed: ${platforms.map(describe).join('; ')}`);
    }

    const failing = [top, ...platforms.filter((d) => authoritiesMet(d).size < threshold)];
    const all = failing.flatMap((d) => d.rejections);
    const partly = failing.some((d) => authoritiesMet(d).size > 0);
    const code: SignatureErrorCode = partly
      ? 'THRESHOLD_NOT_MET'
      : failing.every((d) => d.found === 0)
        ? 'NO_SIGNATURES'
        : (worstCode(all) ?? 'NO_SIGNATURES');
    const thresholdNote = threshold > 1 ? ` (threshold ${threshold})` : '';
    return {
      passed: false,
      code,
      message: failing.map((d) => explain(authorities, d)).join(' | ') + thresholdNote,
      signatures: [],
      attestations: attestations(digests),
      digests,
    };
  }

  // Verdicts depend on the authorities (not on the policy's name): equal specs share cache entries.
  // A digest signed by itself is decided by (authorities, repository, digest); an index signed only
  // per platform also by the platform digests checked.
  const specKey = createHash('sha256').update(JSON.stringify(spec)).digest('base64url').slice(0, 22);
  const ownKey = (reference: ImageReference, digest: string): string =>
    `${specKey} ${reference.registry}/${reference.repository}@${digest} `;
  const { cache } = deps;

  /** `digest`'s verdict by its own signatures: needs no manifest, so it may start before it. */
  function verifyOwn(
    registry: RegistryAccess,
    reference: ImageReference,
    digest: string,
    signal: AbortSignal,
  ): Promise<SignatureVerdict> {
    const run = async (s: AbortSignal): Promise<SignatureVerdict> =>
      conclude(await verifyDigest(registry, reference, digest, s), []);
    return cache === undefined ? run(signal) : cache.verify(ownKey(reference, digest), signal, run);
  }

  async function verify(
    registry: RegistryAccess,
    reference: ImageReference,
    digest: string,
    signal: AbortSignal,
    platformDigests: readonly string[],
    own: Promise<SignatureVerdict> | undefined,
  ): Promise<SignatureVerdict> {
    const others = platformDigests.filter((p) => p !== digest);
    const fullKey = `${ownKey(reference, digest)}${others.join(',')}`;
    const known = others.length > 0 ? cache?.get(fullKey) : undefined;
    if (known !== undefined) return known;
    const mine = await (own ?? verifyOwn(registry, reference, digest, signal));
    const top = mine.digests[0]; // a failing verdict keeps its per-digest details
    if (mine.passed || others.length === 0 || top === undefined) return mine;
    const run = async (s: AbortSignal): Promise<SignatureVerdict> => {
      const platforms = await Promise.all(others.map((p) => verifyDigest(registry, reference, p, s)));
      const verdict = conclude(top, platforms);
      if (verdict.passed) cache?.notePlatformSigned(ownKey(reference, digest));
      return verdict;
    };
    return cache === undefined ? run(signal) : cache.verify(fullKey, signal, run);
  }

  /**
   * What `verdict` rests on, plus the attestations of its digests' legacy `.att` tags, read now (a
   * policy whose checks never ask makes no `.att` request). Kept in the cache under their own key
   * exactly when the verdict passed, as they were when they were part of it.
   */
  const attKey = (reference: ImageReference, digests: readonly string[]): string =>
    `${ownKey(reference, digests[0] ?? '')}att ${digests.slice(1).join(',')}`;

  /** `digest`'s `.att` lookup, started early (a pinned digest); none when the cache will answer. */
  function startAttestations(
    registry: RegistryAccess,
    reference: ImageReference,
    digest: string,
    signal: AbortSignal,
  ): EarlyAttestations | undefined {
    if (cache?.get(attKey(reference, [digest])) !== undefined) return undefined;
    if (cache?.isPlatformSigned(ownKey(reference, digest)) === true) return undefined;
    const items = legacyAttestations(registry, reference, digest, signal);
    items.catch(() => undefined); // awaited by `attestations`, unless the review ends first
    return { digest, items };
  }

  async function attestations(
    registry: RegistryAccess,
    reference: ImageReference,
    verdict: SignatureVerdict,
    signal: AbortSignal,
    early?: EarlyAttestations,
  ): Promise<VerifiedItem[]> {
    // A passing verdict's digests are those its signatures cover (cached verdicts keep no details).
    const digests = verdict.passed
      ? [...new Set(verdict.signatures.map((s) => s.digest))]
      : verdict.digests.map((d) => d.digest);
    if (digests.length === 0) return verdict.attestations;
    const run = async (s: AbortSignal): Promise<SignatureVerdict> => {
      const found = await Promise.all(
        digests.map((d) =>
          d === early?.digest ? early.items : legacyAttestations(registry, reference, d, s),
        ),
      );
      return { ...verdict, signatures: [], attestations: found.flat(), digests: [] };
    };
    const key = attKey(reference, digests);
    const legacy = (cache === undefined ? await run(signal) : await cache.verify(key, signal, run))
      .attestations;
    const of = (items: readonly VerifiedItem[], d: string): VerifiedItem[] =>
      items.filter((a) => a.digest === d);
    return digests.flatMap((d) => [...of(legacy, d), ...of(verdict.attestations, d)]);
  }

  return {
    id: createHash('sha256')
      .update(`${where}\n${JSON.stringify(spec)}`)
      .digest('base64url')
      .slice(0, 22),
    verify(registry, reference, digest, signal, platformDigests = [], own = undefined) {
      return verify(registry, reference, digest, signal, platformDigests, own);
    },
    verifyOwn(registry, reference, digest, signal) {
      // Known to be signed per platform only: verifying the digest alone would only fail again.
      if (cache?.isPlatformSigned(ownKey(reference, digest)) === true) return undefined;
      return verifyOwn(registry, reference, digest, signal);
    },
    startAttestations,
    attestations,
  };
}
