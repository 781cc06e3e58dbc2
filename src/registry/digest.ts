/** Digest computation and verification: every manifest and blob is checked against its digest. */
import { createHash } from 'node:crypto';
import { RegistryError } from '../errors.js';

const ALGORITHMS: Record<string, { node: string; hexLength: number }> = {
  sha256: { node: 'sha256', hexLength: 64 },
  sha384: { node: 'sha384', hexLength: 96 },
  sha512: { node: 'sha512', hexLength: 128 },
};

export function isDigest(value: string): boolean {
  const [alg, hex, extra] = value.split(':');
  const spec = alg === undefined ? undefined : ALGORITHMS[alg];
  return (
    spec !== undefined &&
    extra === undefined &&
    hex !== undefined &&
    hex.length === spec.hexLength &&
    /^[a-f0-9]+$/.test(hex)
  );
}

export function computeDigest(bytes: Uint8Array, algorithm = 'sha256'): string {
  const spec = ALGORITHMS[algorithm];
  if (spec === undefined) throw new Error(`unsupported digest algorithm ${algorithm}`);
  return `${algorithm}:${createHash(spec.node).update(bytes).digest('hex')}`;
}

/** Throws DIGEST_MISMATCH (definitive) when `bytes` do not hash to `expected`. */
export function verifyDigest(bytes: Uint8Array, expected: string, what: string): void {
  if (!isDigest(expected)) {
    throw new RegistryError('DIGEST_MISMATCH', `${what}: "${expected}" is not a supported digest`);
  }
  const algorithm = expected.slice(0, expected.indexOf(':'));
  const actual = computeDigest(bytes, algorithm);
  if (actual !== expected) {
    throw new RegistryError('DIGEST_MISMATCH', `${what}: content hashes to ${actual}, expected ${expected}`);
  }
}

/** Throws DIGEST_MISMATCH when the byte count differs from the descriptor's size. */
export function verifySize(bytes: Uint8Array, expected: number | undefined, what: string): void {
  if (expected !== undefined && bytes.byteLength !== expected) {
    throw new RegistryError(
      'DIGEST_MISMATCH',
      `${what}: got ${bytes.byteLength} bytes, descriptor says ${expected}`,
    );
  }
}
