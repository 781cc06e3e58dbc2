/**
 * A key service's public key answer → the KeyObjects signatures are verified with. The padding (RSA
 * PKCS#1 v1.5 or PSS) and the digest come from the service's metadata: a PSS key becomes an
 * `rsa-pss` KeyObject bound to its hash and salt, so it can verify nothing else.
 */
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { assertSupportedKey, keyIdOf, type PublicKeyVersion } from '../checks/signature/index.js';
import { SignatureError, errorMessage } from '../errors.js';

export type Hash = 'sha256' | 'sha384' | 'sha512';
export interface KeyUse {
  padding?: 'pkcs1' | 'pss';
  hash: Hash;
}

const HASH_OID: Record<Hash, string> = {
  sha256: '0609608648016503040201',
  sha384: '0609608648016503040202',
  sha512: '0609608648016503040203',
};
const HASH_BYTES: Record<Hash, number> = { sha256: 32, sha384: 48, sha512: 64 };
const RSASSA_PSS_OID = '06092a864886f70d01010a';
const MGF1_OID = '06092a864886f70d010108';

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
}

/** The subjectPublicKey BIT STRING of an SPKI (its second element), bytes and header included. */
function subjectPublicKeyOf(spki: Buffer): Buffer {
  const headerLength = (at: number): { header: number; length: number } => {
    const first = spki[at + 1]!;
    if (first < 0x80) return { header: 2, length: first };
    let length = 0;
    for (let i = 0; i < (first & 0x7f); i++) length = length * 256 + spki[at + 2 + i]!;
    return { header: 2 + (first & 0x7f), length };
  };
  const outer = headerLength(0);
  const algorithm = headerLength(outer.header);
  const at = outer.header + algorithm.header + algorithm.length;
  const bits = headerLength(at);
  return spki.subarray(at, at + bits.header + bits.length);
}

/** The RSA key as an `rsa-pss` key restricted to `hash`, MGF1 with `hash`, salt = digest length (AWS, GCP). */
function toPssKey(rsa: KeyObject, hash: Hash): KeyObject {
  const hashAlgorithm = tlv(0x30, Buffer.from(HASH_OID[hash], 'hex'), Buffer.from('0500', 'hex'));
  const params = tlv(
    0x30,
    tlv(0xa0, hashAlgorithm),
    tlv(0xa1, tlv(0x30, Buffer.from(MGF1_OID, 'hex'), hashAlgorithm)),
    tlv(0xa2, tlv(0x02, Buffer.from([HASH_BYTES[hash]]))),
  );
  const spki = rsa.export({ format: 'der', type: 'spki' });
  const der = tlv(0x30, tlv(0x30, Buffer.from(RSASSA_PSS_OID, 'hex'), params), subjectPublicKeyOf(spki));
  return createPublicKey({ key: der, format: 'der', type: 'spki' });
}

export type KeyInput = { pem: string } | { der: Uint8Array } | { jwk: JsonWebKey };

function toKeyObject(input: KeyInput): KeyObject {
  if ('pem' in input) return createPublicKey(input.pem);
  if ('der' in input) return createPublicKey({ key: Buffer.from(input.der), format: 'der', type: 'spki' });
  return createPublicKey({ key: input.jwk, format: 'jwk' });
}

/**
 * One PublicKeyVersion per way the key signs (`uses`; an RSA key AWS lets sign both ways gives two).
 * Throws KEY_INVALID naming `label` when the material is not a public key imagegate verifies with.
 */
export function toKeyVersions(
  input: KeyInput,
  uses: readonly KeyUse[],
  label: string,
  version?: string,
): PublicKeyVersion[] {
  let key: KeyObject;
  try {
    key = toKeyObject(input);
    if (key.type !== 'public') throw new Error(`a ${key.type} key, not a public key`);
    assertSupportedKey(key);
  } catch (err) {
    throw new SignatureError('KEY_INVALID', `${label}: unusable public key: ${errorMessage(err)}`);
  }
  if (uses.length === 0)
    throw new SignatureError(
      'KEY_INVALID',
      `${label}: the key service lists no signing algorithm imagegate supports`,
    );
  const id = keyIdOf(key);
  const rsa = key.asymmetricKeyType === 'rsa';
  const seen = new Set<string>();
  const out: PublicKeyVersion[] = [];
  for (const use of uses) {
    const variant = rsa ? `${use.padding ?? 'pkcs1'}-${use.hash}` : use.hash;
    if (seen.has(variant)) continue;
    seen.add(variant);
    out.push({
      key: rsa && use.padding === 'pss' ? toPssKey(key, use.hash) : key,
      id,
      hash: use.hash,
      ...(rsa || use.hash !== 'sha256' ? { variant } : {}),
      ...(version !== undefined ? { version } : {}),
    });
  }
  return out;
}
