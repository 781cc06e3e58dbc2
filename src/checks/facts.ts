/**
 * Facts about one image, computed lazily and at most once per review, shared by every check and every
 * policy that governs the image. A check that uses another check's result reads it here, typed (base
 * asks for the attestations the signature check verifies), whichever of them asks first.
 */
import type { ImageReference } from '../registry/reference.js';
import type { RegistryAccess, ResolvedImage } from '../registry/types.js';
import type { SignatureVerdict, SignatureVerifier } from './signature/types.js';
import type { VerifiedItem } from './signature/verify.js';

export interface ImageFacts {
  /**
   * The image's signature verdict under `verifier` for the checked `platforms` (an index not itself
   * signed is checked through their platform manifests).
   */
  signatures(verifier: SignatureVerifier, platforms: readonly string[]): Promise<SignatureVerdict>;
  /**
   * The in-toto attestations `verifier`'s authorities verified for the digests its verdict rests on
   * (also when the signature check failed). Legacy `.att` tags are read only here, once per review.
   */
  attestations(verifier: SignatureVerifier, platforms: readonly string[]): Promise<VerifiedItem[]>;
}

export interface ImageFactsSource {
  reference: ImageReference;
  /** The resolved image, or its resolution still in flight (facts of a pinned digest start beside it). */
  resolved: ResolvedImage | Promise<ResolvedImage>;
  registry: RegistryAccess;
  signal: AbortSignal;
}

/** The promise made for (verifier, platforms) in this review, made by `make` the first time. */
function once<T>(
  made: Map<string, Promise<T>>,
  verifier: SignatureVerifier,
  platforms: readonly string[],
  make: () => Promise<T>,
): Promise<T> {
  const key = `${verifier.id} ${platforms.join(',')}`;
  let p = made.get(key);
  if (p === undefined) {
    p = make();
    made.set(key, p);
  }
  return p;
}

export function createImageFacts(image: ImageFactsSource): ImageFacts {
  // made on first use (a policy without signature checks never asks)
  let verdicts: Map<string, Promise<SignatureVerdict>> | undefined;
  const signatures = (
    verifier: SignatureVerifier,
    platforms: readonly string[],
  ): Promise<SignatureVerdict> => {
    return once((verdicts ??= new Map()), verifier, platforms, () => {
      const { reference, registry, signal } = image;
      // A pinned digest's own signatures need no manifest: look them up beside its fetch.
      const own =
        reference.digest !== undefined
          ? verifier.verifyOwn(registry, reference, reference.digest, signal)
          : undefined;
      own?.catch(() => undefined); // awaited below, unless the resolution fails first
      return (async () => {
        const resolved = await image.resolved;
        let platformDigests: string[] = [];
        if (resolved.manifest.kind === 'index') {
          const checked = await resolved.platforms(platforms, signal);
          platformDigests = checked.map((p) => p.manifest.digest);
        }
        const mine = resolved.digest === reference.digest ? own : undefined;
        return verifier.verify(registry, reference, resolved.digest, signal, platformDigests, mine);
      })();
    });
  };
  let attested: Map<string, Promise<VerifiedItem[]>> | undefined;
  const attestations = (
    verifier: SignatureVerifier,
    platforms: readonly string[],
  ): Promise<VerifiedItem[]> => {
    return once((attested ??= new Map()), verifier, platforms, () => {
      const { reference, registry, signal } = image;
      // A pinned digest's `.att` tag needs no manifest either: look it up beside the signatures.
      const early =
        reference.digest !== undefined
          ? verifier.startAttestations(registry, reference, reference.digest, signal)
          : undefined;
      return signatures(verifier, platforms).then((v) =>
        verifier.attestations(registry, reference, v, signal, early),
      );
    });
  };
  return { signatures, attestations };
}
