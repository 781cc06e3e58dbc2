/**
 * Whether an in-toto statement names an image: some subject whose every digest (sha256, sha512,
 * several at once) is the image manifest's digest by that algorithm. cosign compares sha256 only,
 * so a subject whose sha512 names another artifact would pass there; here it does not, and a
 * subject naming the image by sha512 alone is recognised.
 */
import { createHash } from 'node:crypto';

/** in-toto DigestSet names → Node hash names: the algorithms that can identify an image. */
const STRONG: Readonly<Record<string, string>> = {
  sha224: 'sha224',
  sha256: 'sha256',
  sha384: 'sha384',
  sha512: 'sha512',
  sha512_224: 'sha512-224',
  sha512_256: 'sha512-256',
  sha3_224: 'sha3-224',
  sha3_256: 'sha3-256',
  sha3_384: 'sha3-384',
  sha3_512: 'sha3-512',
};
/** Compared when present, never enough alone. */
const WEAK: Readonly<Record<string, string>> = { sha1: 'sha1', md5: 'md5' };

export interface StatementSubject {
  digest?: unknown;
}

function digestSet(subject: unknown): [string, unknown][] | undefined {
  const digest = (subject as StatementSubject | null)?.digest;
  if (typeof digest !== 'object' || digest === null || Array.isArray(digest)) return undefined;
  return Object.entries(digest);
}

/** Whether reading the manifest bytes is needed to decide: a subject names an algorithm besides `digest`'s. */
export function needsManifestBytes(subjects: readonly unknown[], digest: string): boolean {
  const own = digest.slice(0, digest.indexOf(':'));
  return subjects.some((s) => (digestSet(s) ?? []).some(([alg]) => alg !== own));
}

/**
 * Whether some subject names the image `digest` (`alg:hex`) on every algorithm it lists.
 * `manifest` (the digest-verified manifest bytes) is needed when a subject lists another algorithm
 * than the digest's own; without it such a subject does not match.
 */
export function subjectsName(subjects: readonly unknown[], digest: string, manifest?: Buffer): boolean {
  const colon = digest.indexOf(':');
  const own = digest.slice(0, colon);
  const known = new Map<string, string | undefined>([[own, digest.slice(colon + 1)]]);
  const digestBy = (alg: string): string | undefined => {
    if (!known.has(alg)) {
      const hash = Object.hasOwn(STRONG, alg)
        ? STRONG[alg]
        : Object.hasOwn(WEAK, alg)
          ? WEAK[alg]
          : undefined;
      known.set(
        alg,
        hash !== undefined && manifest !== undefined
          ? createHash(hash).update(manifest).digest('hex')
          : undefined,
      );
    }
    return known.get(alg);
  };
  return subjects.some((subject) => {
    const entries = digestSet(subject);
    if (entries === undefined || entries.length === 0) return false;
    const strong = entries.some(([alg]) => alg === own || Object.hasOwn(STRONG, alg));
    return strong && entries.every(([alg, hex]) => typeof hex === 'string' && hex === digestBy(alg));
  });
}
