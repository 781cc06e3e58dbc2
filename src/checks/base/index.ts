/**
 * The base check: proves, per checked platform, that an image is built on an allowed base.
 *
 * Claims come, in this order, from (1) `org.opencontainers.image.base.*` annotations on the platform
 * manifest, then the index; (2) SLSA provenance: cosign attestations verified with the policy's own
 * `signature` authorities, or BuildKit attestation manifests when a signature over the index digest
 * verified; (3) without a claim, the allowed entries' `candidates` tags, resolved now.
 *
 * Proof levels: `claim` (the name matches an allowed glob), `signed` (the claimed digest exists in
 * that repository and verifies against the entry's authorities, within `maxAge`), `layers` (the
 * base's diff_ids are an exact prefix of the image's). Candidates always need the layer proof.
 */
import { ConfigError, RegistryError } from '../../errors.js';
import { compileGlob, globHasVersion } from '../../policy/glob.js';
import type { BaseSpec, SignatureSpec } from '../../policy/policy.schema.js';
import {
  formatReference,
  parseReference,
  repositoryName,
  withDigest,
  type ImageReference,
} from '../../registry/reference.js';
import type { PlatformImage, ResolvedImage } from '../../registry/types.js';
import type { Check, CheckInput, Finding } from '../check.js';
import {
  compileSignatureVerifier,
  imageVerdict,
  type InTotoStatement,
  type SignatureDeps,
  type SignatureVerdict,
  type SignatureVerifier,
} from '../signature/index.js';
import {
  annotationClaim,
  isProvenance,
  materialImage,
  provenanceMaterials,
  type AnnotationClaim,
  type BaseClaim,
} from './claims.js';
import { hasBuildkitAttestation, readBuildkitProvenance } from './buildkit.js';
import { checkLayerPrefix, formatAge, parseMaxAge } from './layers.js';

export type BaseCode =
  | 'OK'
  | 'BASE_NOT_CLAIMED'
  | 'BASE_NOT_ALLOWED'
  | 'BASE_CLAIM_INCONSISTENT'
  | 'BASE_NOT_FOUND'
  | 'BASE_SIGNATURE_INVALID'
  | 'BASE_TOO_OLD'
  | 'BASE_AGE_UNKNOWN'
  | 'BASE_NOT_PROVEN';

export type ProofLevel = 'claim' | 'signed' | 'layers';
/** How far an attempt got: `none` = not even allowed. */
export type Reached = 'none' | ProofLevel;

const RANK: Record<Reached, number> = { none: 0, claim: 1, signed: 2, layers: 3 };

export { checkLayerPrefix, parseMaxAge } from './layers.js';
export { annotationClaim, materialImage, provenanceMaterials } from './claims.js';

interface Entry {
  image: string;
  matches(ref: ImageReference): boolean;
  verifier?: SignatureVerifier;
  candidates: ImageReference[];
}

interface Attempt {
  passed: boolean;
  code: BaseCode;
  reached: Reached;
  claim: BaseClaim;
  /** The base digest that was checked (claimed or resolved). */
  digest?: string;
  /** Message parts, joined with '; '. */
  parts: string[];
  signedAt?: string;
}

interface PlatformResult {
  platform: string;
  digest: string;
  passed: boolean;
  code: BaseCode;
  reached: Reached;
  message: string;
  source?: string;
  base?: string;
  signedAt?: string;
}

function compileEntries(spec: BaseSpec, policyName: string, deps: SignatureDeps): Entry[] {
  return spec.allowed.map((a, i) => {
    const where = `policy "${policyName}" base.allowed[${i}]`;
    const glob = compileGlob(a.image);
    const full = globHasVersion(a.image);
    const matches = (ref: ImageReference): boolean => glob(full ? formatReference(ref) : repositoryName(ref));
    const candidates = (a.candidates ?? []).map((c) => {
      let ref: ImageReference;
      try {
        ref = parseReference(c);
      } catch (err) {
        throw new ConfigError('POLICY_INVALID', `${where}.candidates: ${(err as Error).message}`);
      }
      if (!matches(ref)) {
        throw new ConfigError('POLICY_INVALID', `${where}.candidates: ${c} does not match "${a.image}"`);
      }
      return ref;
    });
    return {
      image: a.image,
      matches,
      candidates,
      ...(a.signature !== undefined
        ? { verifier: compileSignatureVerifier(a.signature, `${where}.signature`, deps) }
        : {}),
    };
  });
}

function display(claim: BaseClaim, digest: string | undefined): string {
  const ref = claim.reference;
  const named = `${repositoryName(ref)}${ref.tag !== undefined ? `:${ref.tag}` : ''}`;
  return digest !== undefined ? `${named}@${digest}` : named;
}

function isMissing(err: unknown): boolean {
  return (
    err instanceof RegistryError &&
    (err.code === 'MANIFEST_UNKNOWN' || err.code === 'BLOB_UNKNOWN') &&
    !err.indeterminate
  );
}

/** Compile at policy load (throws ConfigError); `imageSignature` is the same policy's signature section. */
export function compileBaseCheck(
  spec: BaseSpec,
  policyName: string,
  imageSignature: SignatureSpec | undefined,
  deps: SignatureDeps,
): Check {
  const entries = compileEntries(spec, policyName, deps);
  const proof: ProofLevel = spec.proof ?? 'layers';
  const maxAgeMs =
    spec.maxAge !== undefined ? parseMaxAge(spec.maxAge, `policy "${policyName}" base.maxAge`) : undefined;
  const imageVerifier =
    imageSignature !== undefined
      ? compileSignatureVerifier(imageSignature, `policy "${policyName}" signature`, deps)
      : undefined;
  const allowedList = entries.map((e) => `"${e.image}"`).join(', ');

  return {
    name: 'base',
    needsRegistry: true,
    async run(input: CheckInput): Promise<Finding> {
      const started = performance.now();
      const { registry, resolved, signal } = input;
      const now = Date.now();

      // Per-run memos: platforms of one image share the base's resolution and signature verdicts.
      const bases = new Map<string, Promise<ResolvedImage>>();
      const resolveBase = (ref: ImageReference, digest: string): Promise<ResolvedImage> => {
        const key = `${repositoryName(ref)}@${digest}`;
        let p = bases.get(key);
        if (p === undefined) {
          p = registry.resolve(withDigest(ref, digest), signal);
          bases.set(key, p);
        }
        return p;
      };
      const verdicts = new Map<string, Promise<SignatureVerdict>>();
      const verifyBase = (
        e: number,
        ref: ImageReference,
        digest: string,
        platformDigest: string | undefined,
      ): Promise<SignatureVerdict> => {
        const key = `${e}|${repositoryName(ref)}@${digest}|${platformDigest ?? ''}`;
        let p = verdicts.get(key);
        if (p === undefined) {
          p = entries[e]!.verifier!.verify(
            registry,
            withDigest(ref, digest),
            digest,
            signal,
            platformDigest !== undefined ? [platformDigest] : [],
          );
          verdicts.set(key, p);
        }
        return p;
      };
      const tagNow = new Map<string, Promise<string | undefined>>();
      const resolveTag = (ref: ImageReference): Promise<string | undefined> => {
        const tagged: ImageReference = {
          registry: ref.registry,
          repository: ref.repository,
          tag: ref.tag ?? 'latest',
          original: ref.original,
        };
        const key = formatReference(tagged);
        let p = tagNow.get(key);
        if (p === undefined) {
          p = registry.resolve(tagged, signal).then(
            (r) => r.digest,
            () => undefined,
          );
          tagNow.set(key, p);
        }
        return p;
      };

      async function attempt(claim: BaseClaim, image: PlatformImage): Promise<Attempt> {
        const parts = [`base claimed ${display(claim, claim.digest)} (${claim.source})`];
        if (claim.candidate === true) parts[0] = `candidate ${display(claim, claim.digest)}`;
        const matching = entries.map((e, i) => ({ e, i })).filter(({ e }) => e.matches(claim.reference));
        if (matching.length === 0) {
          const scratch = claim.name === 'scratch' ? ' (the image says it is built FROM scratch)' : '';
          parts.push(`not allowed${scratch}: allowed bases are ${allowedList}`);
          return { passed: false, code: 'BASE_NOT_ALLOWED', reached: 'none', claim, parts };
        }
        parts.push(`allowed by "${matching[0]!.e.image}"`);
        const needLayers = proof === 'layers' || claim.candidate === true;
        if (proof === 'claim' && claim.candidate !== true) {
          parts.push('proof level claim: the name is not verified (audit and inventory only)');
          return { passed: true, code: 'OK', reached: 'claim', claim, parts };
        }

        // The digest: as claimed, or (a tag-only claim) what the tag points at now.
        let digest = claim.digest;
        if (digest === undefined) {
          digest = await resolveTag(claim.reference);
          if (digest === undefined) {
            parts.push(`no digest claimed and the tag cannot be resolved now`);
            return { passed: false, code: 'BASE_NOT_FOUND', reached: 'claim', claim, parts };
          }
          parts.push(`no digest claimed: the tag now points at ${digest}`);
        } else if (claim.reference.tag !== undefined && claim.candidate !== true) {
          // Tags move; the digest is the claim. Report a tag that points elsewhere now.
          const current = await resolveTag(claim.reference);
          if (current !== undefined && current !== digest) {
            parts.push(
              `note: tag ${claim.reference.tag} now points at ${current}, not the claimed digest (the digest is what is proven)`,
            );
          }
        }

        let base: ResolvedImage;
        try {
          base = await resolveBase(claim.reference, digest);
        } catch (err) {
          if (!isMissing(err)) throw err;
          parts.push(`${digest} does not exist in ${repositoryName(claim.reference)}`);
          return { passed: false, code: 'BASE_NOT_FOUND', reached: 'claim', claim, digest, parts };
        }
        // For an index, the same platform as the image's.
        let basePlatform: PlatformImage | undefined;
        try {
          [basePlatform] = await base.platforms([image.platform], signal);
        } catch (err) {
          if (!(err instanceof RegistryError && err.code === 'PLATFORM_NOT_FOUND')) throw err;
        }

        // Signature: any matching entry whose authorities verify (an entry without signature only
        // requires the digest to exist in its repository).
        let signedBy: string | undefined;
        let signedAt: string | undefined;
        const failures: string[] = [];
        for (const { e, i } of matching) {
          if (e.verifier === undefined) {
            signedBy = `no signature required by "${e.image}"`;
            break;
          }
          const v = await verifyBase(
            i,
            claim.reference,
            digest,
            base.manifest.kind === 'index' ? basePlatform?.manifest.digest : undefined,
          );
          if (v.passed) {
            const times = v.signatures.map((s) => s.signedAt).filter((t): t is string => t !== undefined);
            signedAt = times.sort()[0];
            signedBy = `signature OK (${v.message})`;
            break;
          }
          failures.push(`"${e.image}": ${v.code} ${v.message}`);
        }
        if (signedBy === undefined) {
          parts.push(`signature: ${failures.join(' | ')}`);
          return { passed: false, code: 'BASE_SIGNATURE_INVALID', reached: 'claim', claim, digest, parts };
        }
        parts.push(signedBy);
        if (maxAgeMs !== undefined) {
          if (signedAt === undefined) {
            parts.push(
              signedBy.startsWith('no signature required')
                ? `age: without a required signature there is no signing time, so maxAge ${spec.maxAge} cannot be proven`
                : `age: the base signature carries no verified time (no Rekor entry or RFC 3161 timestamp), so maxAge ${spec.maxAge} cannot be proven`,
            );
            return { passed: false, code: 'BASE_AGE_UNKNOWN', reached: 'claim', claim, digest, parts };
          }
          const age = now - Date.parse(signedAt);
          if (age > maxAgeMs) {
            parts.push(`signed ${signedAt} (${formatAge(age)} ago), older than maxAge ${spec.maxAge}`);
            return {
              passed: false,
              code: 'BASE_TOO_OLD',
              reached: 'claim',
              claim,
              digest,
              parts,
              signedAt,
            };
          }
          parts.push(`signed ${signedAt} (${formatAge(Math.max(0, age))} ago, within ${spec.maxAge})`);
        }
        const signed = { claim, digest, ...(signedAt !== undefined ? { signedAt } : {}) };
        if (!needLayers) return { passed: true, code: 'OK', reached: 'signed', parts, ...signed };

        if (basePlatform === undefined) {
          parts.push(`layers: the base has no ${image.platform} image`);
          return { passed: false, code: 'BASE_NOT_PROVEN', reached: 'signed', parts, ...signed };
        }
        const prefix = checkLayerPrefix(image.config, basePlatform.config);
        if (!prefix.ok) {
          parts.push(`layers: ${prefix.reason}`);
          return { passed: false, code: 'BASE_NOT_PROVEN', reached: 'signed', parts, ...signed };
        }
        parts.push(
          `layers: the base's ${prefix.baseLayers} diff_id${prefix.baseLayers === 1 ? '' : 's'} (${basePlatform.platform} manifest ${basePlatform.manifest.digest}) begin the image's`,
        );
        return { passed: true, code: 'OK', reached: 'layers', parts, ...signed };
      }

      /** Claims of sources 1 and 2 for one platform; `notes` explain skipped sources. */
      async function claimsFor(
        image: PlatformImage,
        notes: string[],
      ): Promise<{ claims: BaseClaim[] } | { inconsistent: string } | { notAllowed: string[] }> {
        const own = annotationClaim(image.manifest.json.annotations, 'platform manifest');
        const index: AnnotationClaim =
          resolved.manifest.kind === 'index'
            ? annotationClaim(resolved.manifest.json.annotations, 'index')
            : { kind: 'none' };
        for (const a of [own, index]) {
          if (a.kind === 'claim') return { claims: [a.claim] };
          if (a.kind === 'inconsistent') return { inconsistent: a.message };
          if (a.note !== undefined) notes.push(a.note);
        }

        // Source 2: SLSA provenance.
        const images: { claim: BaseClaim; allowed: boolean }[] = [];
        const addStatements = (statements: InTotoStatement[], source: string): void => {
          for (const statement of statements) {
            for (const m of provenanceMaterials(statement)) {
              const found = materialImage(m);
              if (found === undefined) continue;
              if (images.some((x) => x.claim.name === found.name && x.claim.digest === found.digest))
                continue;
              images.push({
                claim: { source, reference: found.reference, name: found.name, digest: found.digest },
                allowed: entries.some((e) => e.matches(found.reference)),
              });
            }
          }
        };
        let verdict: SignatureVerdict | undefined;
        if (imageVerifier !== undefined) {
          verdict = await imageVerdict(input, imageVerifier, policyName);
          const wanted = new Set([resolved.digest, image.manifest.digest]);
          for (const a of verdict.attestations) {
            if (!isProvenance(a.predicateType) || a.statement === undefined || !wanted.has(a.digest))
              continue;
            addStatements(
              [a.statement],
              `SLSA provenance (${a.statement.predicateType.slice('https://slsa.dev/'.length)}) signed by "${a.authority}"`,
            );
          }
        }
        if (
          resolved.manifest.kind === 'index' &&
          hasBuildkitAttestation(resolved.manifest.json, image.manifest.digest)
        ) {
          const indexSigned =
            verdict?.passed === true && verdict.signatures.some((s) => s.digest === resolved.digest);
          if (indexSigned) {
            const bk = await readBuildkitProvenance(
              registry,
              input.reference,
              resolved.manifest.json,
              image.manifest.digest,
              signal,
            );
            notes.push(...bk.problems);
            addStatements(
              bk.statements,
              'BuildKit provenance in the index (unsigned itself; trusted because the index signature verified)',
            );
          } else {
            notes.push(
              imageVerifier === undefined
                ? 'BuildKit provenance in the index ignored: the policy has no signature section to verify the index with'
                : 'BuildKit provenance in the index ignored: no signature over the index digest verified',
            );
          }
        }
        if (imageVerifier === undefined) {
          notes.push(
            'provenance attestations not read: the policy has no signature section to verify them with',
          );
        }
        const allowed = images.filter((x) => x.allowed).map((x) => x.claim);
        if (allowed.length > 0) return { claims: allowed };
        if (images.length > 0) return { notAllowed: images.map((x) => display(x.claim, x.claim.digest)) };
        return { claims: [] };
      }

      async function candidates(notes: string[]): Promise<BaseClaim[]> {
        const out: BaseClaim[] = [];
        for (const e of entries) {
          for (const ref of e.candidates) {
            const digest = await resolveTag(ref);
            if (digest === undefined) {
              notes.push(`candidate ${formatReference(ref)} cannot be resolved`);
              continue;
            }
            out.push({
              source: `candidate ${formatReference(ref)}`,
              reference: ref,
              name: formatReference(ref),
              digest,
              candidate: true,
            });
          }
        }
        return out;
      }

      async function provePlatform(image: PlatformImage): Promise<PlatformResult> {
        const head = { platform: image.platform, digest: image.manifest.digest };
        const notes: string[] = [];
        const fail = (code: BaseCode, message: string): PlatformResult => ({
          ...head,
          passed: false,
          code,
          reached: 'none',
          message: [message, ...notes].join('; '),
        });
        const found = await claimsFor(image, notes);
        if ('inconsistent' in found) return fail('BASE_CLAIM_INCONSISTENT', found.inconsistent);
        if ('notAllowed' in found) {
          return fail(
            'BASE_NOT_ALLOWED',
            `provenance names ${found.notAllowed.join(', ')}, none of them allowed (allowed bases are ${allowedList})`,
          );
        }
        let claims = found.claims;
        if (claims.length === 0) {
          if (proof === 'claim') {
            return fail(
              'BASE_NOT_CLAIMED',
              'the image makes no base claim (proof level claim does not try candidates)',
            );
          }
          claims = await candidates(notes);
          if (claims.length === 0) {
            return fail(
              'BASE_NOT_CLAIMED',
              'the image makes no base claim (no base annotation, no verified provenance naming an image) and the policy lists no candidates that resolve',
            );
          }
        }
        const attempts: Attempt[] = [];
        for (const claim of claims) {
          const a = await attempt(claim, image);
          attempts.push(a);
          if (a.passed) break;
        }
        const ok = attempts.find((a) => a.passed);
        const chosen =
          ok ?? attempts.reduce((best, a) => (RANK[a.reached] > RANK[best.reached] ? a : best), attempts[0]!);
        const others =
          ok === undefined && attempts.length > 1
            ? [`${attempts.length} claims tried, none proven; the closest is shown`]
            : [];
        return {
          ...head,
          passed: chosen.passed,
          code: chosen.code,
          reached: chosen.reached,
          message: [...chosen.parts, ...others, ...notes].join('; '),
          source: chosen.claim.source,
          ...(chosen.digest !== undefined
            ? { base: `${repositoryName(chosen.claim.reference)}@${chosen.digest}` }
            : {}),
          ...(chosen.signedAt !== undefined ? { signedAt: chosen.signedAt } : {}),
        };
      }

      const images = await resolved.platforms(input.platforms, signal);
      const results = await Promise.all(images.map(provePlatform));
      const failed = results.find((r) => !r.passed);
      // Platforms with the same outcome share one message.
      const groups = new Map<string, string[]>();
      for (const r of results) groups.set(r.message, [...(groups.get(r.message) ?? []), r.platform]);
      const message = [...groups.entries()]
        .map(([m, platforms]) => (results.length > 1 ? `${platforms.join(', ')}: ${m}` : m))
        .join(' | ');
      return {
        check: 'base',
        passed: failed === undefined,
        code: failed?.code ?? 'OK',
        message: `proof ${proof}: ${message}`,
        details: {
          proof,
          ...(spec.maxAge !== undefined ? { maxAge: spec.maxAge } : {}),
          platforms: results.map((r) => ({
            platform: r.platform,
            digest: r.digest,
            passed: r.passed,
            code: r.code,
            reached: r.reached,
            ...(r.source !== undefined ? { source: r.source } : {}),
            ...(r.base !== undefined ? { base: r.base } : {}),
            ...(r.signedAt !== undefined ? { signedAt: r.signedAt } : {}),
          })),
        },
        durationMs: performance.now() - started,
      };
    },
  };
}
