/**
 * The proof of one claim, level by level: `claim` (the name matches an allowed glob), `signed` (the
 * claimed digest exists in that repository and verifies against the entry's authorities, within
 * `maxAge`), `layers` (the base's diff_ids are an exact prefix of the image's). Candidates always need
 * the layer proof. Each level adds a message part, so a failure says how far the claim got.
 */
import { RegistryError } from '../../errors.js';
import { repositoryName } from '../../registry/reference.js';
import type { PlatformImage, ResolvedImage } from '../../registry/types.js';
import type { BaseClaim } from './claims.js';
import { checkLayerPrefix, formatAge } from './layers.js';
import type { BasePolicy, Entry } from './policy.js';
import { display } from './report.js';
import type { RunContext } from './run-context.js';
import type { Attempt } from './types.js';

type SignatureStep =
  { ok: true; part: string; required: boolean; signedAt?: string } | { ok: false; part: string };

/** Proves `claim` for one platform `image` as far as the policy's proof level asks. */
export async function proveClaim(run: RunContext, claim: BaseClaim, image: PlatformImage): Promise<Attempt> {
  const { policy } = run;
  const parts = [`base claimed ${display(claim, claim.digest)} (${claim.source})`];
  if (claim.candidate === true) parts[0] = `candidate ${display(claim, claim.digest)}`;
  const matching = policy.entries.map((e, i) => ({ e, i })).filter(({ e }) => e.matches(claim.reference));
  if (matching.length === 0) {
    const scratch = claim.name === 'scratch' ? ' (the image says it is built FROM scratch)' : '';
    parts.push(`not allowed${scratch}: allowed bases are ${policy.allowedList}`);
    return { passed: false, code: 'BASE_NOT_ALLOWED', reached: 'none', claim, parts };
  }
  parts.push(`allowed by "${matching[0]!.e.image}"`);
  const needLayers = policy.proof === 'layers' || claim.candidate === true;
  if (policy.proof === 'claim' && claim.candidate !== true) {
    parts.push('proof level claim: the name is not verified (audit and inventory only)');
    return { passed: true, code: 'OK', reached: 'claim', claim, parts };
  }

  const digest = await baseDigest(run, claim, parts);
  if (digest === undefined) return { passed: false, code: 'BASE_NOT_FOUND', reached: 'claim', claim, parts };
  let base: ResolvedImage;
  try {
    base = await run.resolveBase(claim.reference, digest);
  } catch (err) {
    if (!isMissing(err)) throw err;
    parts.push(`${digest} does not exist in ${repositoryName(claim.reference)}`);
    return { passed: false, code: 'BASE_NOT_FOUND', reached: 'claim', claim, digest, parts };
  }
  // For an index, the same platform as the image's.
  let basePlatform: PlatformImage | undefined;
  try {
    [basePlatform] = await base.platforms([image.platform], run.input.signal);
  } catch (err) {
    if (!(err instanceof RegistryError && err.code === 'PLATFORM_NOT_FOUND')) throw err;
  }

  const platformDigest = base.manifest.kind === 'index' ? basePlatform?.manifest.digest : undefined;
  const signature = await verifyBaseSignature(run, matching, claim, digest, platformDigest);
  parts.push(signature.part);
  if (!signature.ok) {
    return { passed: false, code: 'BASE_SIGNATURE_INVALID', reached: 'claim', claim, digest, parts };
  }
  const signed = {
    claim,
    digest,
    ...(signature.signedAt !== undefined ? { signedAt: signature.signedAt } : {}),
  };
  if (policy.maxAge !== undefined) {
    const age = checkAge(policy.maxAge, run.now, signature);
    parts.push(age.part);
    if (age.failure !== undefined)
      return { passed: false, code: age.failure, reached: 'claim', parts, ...signed };
  }
  if (!needLayers) return { passed: true, code: 'OK', reached: 'signed', parts, ...signed };

  const layers = proveLayers(image, basePlatform);
  parts.push(layers.part);
  return layers.ok
    ? { passed: true, code: 'OK', reached: 'layers', parts, ...signed }
    : { passed: false, code: 'BASE_NOT_PROVEN', reached: 'signed', parts, ...signed };
}

/** A definite "not there", as opposed to a registry that could not answer. */
function isMissing(err: unknown): boolean {
  return (
    err instanceof RegistryError &&
    (err.code === 'MANIFEST_UNKNOWN' || err.code === 'BLOB_UNKNOWN') &&
    !err.indeterminate
  );
}

/** The digest to prove: as claimed, or (a tag-only claim) what the tag points at now. */
async function baseDigest(run: RunContext, claim: BaseClaim, parts: string[]): Promise<string | undefined> {
  if (claim.digest === undefined) {
    const current = await run.resolveTag(claim.reference);
    parts.push(
      current === undefined
        ? 'no digest claimed and the tag cannot be resolved now'
        : `no digest claimed: the tag now points at ${current}`,
    );
    return current;
  }
  if (claim.reference.tag !== undefined && claim.candidate !== true) {
    // Tags move; the digest is the claim. Report a tag that points elsewhere now.
    const current = await run.resolveTag(claim.reference);
    if (current !== undefined && current !== claim.digest) {
      parts.push(
        `note: tag ${claim.reference.tag} now points at ${current}, not the claimed digest (the digest is what is proven)`,
      );
    }
  }
  return claim.digest;
}

/**
 * Any matching entry whose authorities verify, in policy order; an entry without signature only
 * requires the digest to exist in its repository.
 */
async function verifyBaseSignature(
  run: RunContext,
  matching: { e: Entry; i: number }[],
  claim: BaseClaim,
  digest: string,
  platformDigest: string | undefined,
): Promise<SignatureStep> {
  const failures: string[] = [];
  for (const { e, i } of matching) {
    if (e.verifier === undefined) {
      return { ok: true, required: false, part: `no signature required by "${e.image}"` };
    }
    const v = await run.verifyBase(i, claim.reference, digest, platformDigest);
    if (v.passed) {
      const times = v.signatures.map((s) => s.signedAt).filter((t): t is string => t !== undefined);
      const signedAt = times.sort()[0];
      return {
        ok: true,
        required: true,
        part: `signature OK (${v.message})`,
        ...(signedAt !== undefined ? { signedAt } : {}),
      };
    }
    failures.push(`"${e.image}": ${v.code} ${v.message}`);
  }
  return { ok: false, part: `signature: ${failures.join(' | ')}` };
}

/** maxAge against the earliest verified signing time; without one the age cannot be proven. */
function checkAge(
  maxAge: NonNullable<BasePolicy['maxAge']>,
  now: number,
  signature: { required: boolean; signedAt?: string },
): { part: string; failure?: 'BASE_AGE_UNKNOWN' | 'BASE_TOO_OLD' } {
  const { signedAt } = signature;
  if (signedAt === undefined) {
    return {
      failure: 'BASE_AGE_UNKNOWN',
      part: signature.required
        ? `age: the base signature carries no verified time (no Rekor entry or RFC 3161 timestamp), so maxAge ${maxAge.text} cannot be proven`
        : `age: without a required signature there is no signing time, so maxAge ${maxAge.text} cannot be proven`,
    };
  }
  const age = now - Date.parse(signedAt);
  if (age > maxAge.ms) {
    return {
      failure: 'BASE_TOO_OLD',
      part: `signed ${signedAt} (${formatAge(age)} ago), older than maxAge ${maxAge.text}`,
    };
  }
  return { part: `signed ${signedAt} (${formatAge(Math.max(0, age))} ago, within ${maxAge.text})` };
}

function proveLayers(
  image: PlatformImage,
  basePlatform: PlatformImage | undefined,
): { ok: boolean; part: string } {
  if (basePlatform === undefined)
    return { ok: false, part: `layers: the base has no ${image.platform} image` };
  const prefix = checkLayerPrefix(image.config, basePlatform.config);
  if (!prefix.ok) return { ok: false, part: `layers: ${prefix.reason}` };
  return {
    ok: true,
    part: `layers: the base's ${prefix.baseLayers} diff_id${prefix.baseLayers === 1 ? '' : 's'} (${basePlatform.platform} manifest ${basePlatform.manifest.digest}) begin the image's`,
  };
}
