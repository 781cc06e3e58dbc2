/**
 * The signature check: an image passes when, for its digest, signatures verified by at least
 * `threshold` distinct authorities exist. A signature on an index covers its platform manifests; a
 * signature on every checked platform manifest is accepted too. Verified attestations are left in
 * the review scratch under ATTESTATIONS_SCRATCH_KEY for the base-provenance check.
 *
 * Public surface: compileSignatureCheck, compileSignatureVerifier / verifyImageSignatures,
 * loadTrustedRoots / parseTrustedRootFlag, and the types they use.
 */
import { createHash } from 'node:crypto';
import { SignatureError, type SignatureErrorCode } from '../../errors.js';
import type { SignatureSpec } from '../../policy/policy.schema.js';
import { formatReference, withDigest, type ImageReference } from '../../registry/reference.js';
import type { RegistryAccess } from '../../registry/types.js';
import type { Check, CheckInput, Finding } from '../check.js';
import { compileAuthorities, type CompiledAuthority, type SecretReader } from './authorities.js';
import { fetchCandidates } from './fetch.js';
import type { TrustedRootStore } from './trusted-roots.js';
import type { VerdictCache } from './verdict-cache.js';
import { verifyCandidate, type Rejection, type VerifiedItem } from './verify.js';

export { parseTrustedRootFlag, loadTrustedRoots, PUBLIC_GOOD } from './trusted-roots.js';
export { defaultCacheDir } from './tuf-cache.js';
export type {
  TrustedRootStore,
  TrustedRootStatus,
  LoadTrustedRootsOptions,
  TrustedRootFile,
} from './trusted-roots.js';
export type { SecretReader, SecretKeyReference } from './authorities.js';
export type { VerifiedItem, InTotoStatement, Rejection } from './verify.js';
export { VerdictCache, type VerdictCacheOptions } from './verdict-cache.js';

/** Scratch key holding `VerifiedItem[]` of kind 'attestation' (statement + predicateType + authority). */
export const ATTESTATIONS_SCRATCH_KEY = 'signature.attestations';

/** Scratch key prefix for the promise of a policy's image signature verdict (see imageVerdict). */
export const VERDICT_SCRATCH_PREFIX = 'signature.verdict:';

export interface SignatureDeps {
  trustedRoots: TrustedRootStore;
  /** Reads `key.secretRef` keys; without it such authorities fail as indeterminate. */
  secrets?: SecretReader;
  /** Passing verdicts shared across reviews (and concurrent identical verifications); none: verify each time. */
  cache?: VerdictCache;
}

export interface DigestVerification {
  digest: string;
  /** Signatures and attestations found (including unreadable ones). */
  found: number;
  verified: VerifiedItem[];
  rejections: Rejection[];
}

export interface SignatureVerdict {
  passed: boolean;
  /** 'OK' or the most telling SignatureErrorCode. */
  code: 'OK' | SignatureErrorCode;
  message: string;
  /** Signatures that satisfied the policy (empty when denied). */
  signatures: VerifiedItem[];
  attestations: VerifiedItem[];
  digests: DigestVerification[];
}

export interface SignatureVerifier {
  /** Verifies `digest` (and, for an index not itself signed, `platformDigests`) in `reference`'s repository. */
  verify(
    registry: RegistryAccess,
    reference: ImageReference,
    digest: string,
    signal: AbortSignal,
    platformDigests?: readonly string[],
  ): Promise<SignatureVerdict>;
}

/** Worst first: the code a denial reports when authorities failed for different reasons. */
const CODE_ORDER: SignatureErrorCode[] = [
  'DIGEST_MISMATCH',
  'SIGNATURE_INVALID',
  'TLOG_INVALID',
  'TIMESTAMP_INVALID',
  'CERTIFICATE_INVALID',
  'IDENTITY_MISMATCH',
  'TLOG_MISSING',
  'SIGNATURE_MALFORMED',
];

function worstCode(rejections: readonly Rejection[]): SignatureErrorCode {
  for (const c of CODE_ORDER) if (rejections.some((r) => r.code === c)) return c;
  return rejections[0]?.code ?? 'NO_SIGNATURES';
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** `no signature from authority "ci" verified: found 2 signatures; 1 by subject …; 1 with …` */
function explain(authorities: readonly CompiledAuthority[], d: DigestVerification): string {
  if (d.found === 0) return `no signatures found for ${d.digest}`;
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

  async function verifyDigest(
    registry: RegistryAccess,
    reference: ImageReference,
    digest: string,
    signal: AbortSignal,
  ): Promise<DigestVerification> {
    const candidates = await fetchCandidates(registry, reference, digest, { attestations: true }, signal);
    const manifests = new Map<string, Promise<Buffer>>();
    const ctx = {
      trustedRoots: deps.trustedRoots,
      signal,
      manifestBytes(d: string): Promise<Buffer> {
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
    for (const c of candidates) {
      for (const a of authorities) {
        const r = await verifyCandidate(c, a, ctx);
        if (r.ok) verified.push(r.item);
        else rejections.push(r.rejection);
      }
    }
    return { digest, found: candidates.length, verified, rejections };
  }

  // Verdicts depend on the authorities (not on the policy's name): equal specs share cache entries.
  const specKey = createHash('sha256').update(JSON.stringify(spec)).digest('base64url').slice(0, 22);

  async function verify(
    registry: RegistryAccess,
    reference: ImageReference,
    digest: string,
    signal: AbortSignal,
    platformDigests: readonly string[],
  ): Promise<SignatureVerdict> {
    const top = await verifyDigest(registry, reference, digest, signal);
    const digests = [top];
    const attestations = (ds: DigestVerification[]): VerifiedItem[] =>
      ds.flatMap((d) => d.verified.filter((v) => v.kind === 'attestation'));
    const pass = (ds: DigestVerification[], message: string): SignatureVerdict => ({
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

    const platforms = [];
    for (const p of platformDigests.filter((p) => p !== digest)) {
      platforms.push(await verifyDigest(registry, reference, p, signal));
    }
    digests.push(...platforms);
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
        : worstCode(all);
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

  return {
    verify(registry, reference, digest, signal, platformDigests = []) {
      const cache = deps.cache;
      if (cache === undefined) return verify(registry, reference, digest, signal, platformDigests);
      const key = `${specKey} ${reference.registry}/${reference.repository}@${digest} ${platformDigests.join(',')}`;
      return cache.verify(key, signal, (s) => verify(registry, reference, digest, s, platformDigests));
    },
  };
}

/** One-shot convenience (e.g. the base check verifying a base image against an allowed entry). */
export async function verifyImageSignatures(
  registry: RegistryAccess,
  reference: ImageReference,
  digest: string,
  spec: SignatureSpec,
  deps: SignatureDeps,
  signal: AbortSignal,
): Promise<SignatureVerdict> {
  return compileSignatureVerifier(spec, 'signature', deps).verify(registry, reference, digest, signal);
}

/**
 * The image's own signature verdict under a policy's `signature` section, computed once per image
 * and policy within a review: the checks of one policy run in parallel, so whichever asks first (the
 * signature check or the base check, which needs verified provenance) starts the verification and
 * stores its promise in the scratch; the other awaits the same promise. No ordering is assumed.
 */
export function imageVerdict(
  input: CheckInput,
  verifier: SignatureVerifier,
  policyName: string,
): Promise<SignatureVerdict> {
  const key = `${VERDICT_SCRATCH_PREFIX}${policyName}`;
  const existing = input.scratch.get<Promise<SignatureVerdict>>(key);
  if (existing !== undefined) return existing;
  const { resolved, signal } = input;
  const verdict = (async () => {
    let platformDigests: string[] = [];
    if (resolved.manifest.kind === 'index') {
      const platforms = await resolved.platforms(input.platforms, signal);
      platformDigests = platforms.map((p) => p.manifest.digest);
    }
    return verifier.verify(input.registry, input.reference, resolved.digest, signal, platformDigests);
  })();
  input.scratch.set(key, verdict);
  return verdict;
}

/** The policy's `signature` section as a Check (compile at policy load; throws ConfigError). */
export function compileSignatureCheck(spec: SignatureSpec, policyName: string, deps: SignatureDeps): Check {
  const verifier = compileSignatureVerifier(spec, `policy "${policyName}" signature`, deps);
  return {
    name: 'signature',
    needsRegistry: true,
    async run(input: CheckInput): Promise<Finding> {
      const started = performance.now();
      const { resolved } = input;
      const verdict = await imageVerdict(input, verifier, policyName);
      const previous = input.scratch.get<VerifiedItem[]>(ATTESTATIONS_SCRATCH_KEY) ?? [];
      input.scratch.set(ATTESTATIONS_SCRATCH_KEY, [...previous, ...verdict.attestations]);
      const image = formatReference(withDigest(input.reference, resolved.digest));
      return {
        check: 'signature',
        passed: verdict.passed,
        code: verdict.code,
        message: verdict.passed ? `${image}: ${verdict.message}` : `${image}: ${verdict.message}`,
        details: {
          signatures: verdict.signatures.map((s) => ({
            authority: s.authority,
            digest: s.digest,
            source: s.source,
            format: s.format,
            ...s.signer,
            tlogEntries: s.tlogEntries,
            ...(s.signedAt !== undefined ? { signedAt: s.signedAt, timeSource: s.timeSource } : {}),
            ...(s.dockerReference !== undefined ? { dockerReference: s.dockerReference } : {}),
          })),
          attestations: verdict.attestations.map((a) => ({
            authority: a.authority,
            digest: a.digest,
            predicateType: a.predicateType,
          })),
        },
        durationMs: performance.now() - started,
      };
    },
  };
}

export { SignatureError };
