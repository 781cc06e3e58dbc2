/**
 * Real key pairs for the stand-ins to hold: EC P-256, RSA 2048 and 4096. The public half is what a
 * stand-in serves; the private half signs (through cosign where cosign can, else node:crypto).
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';

export type KeyKind = 'ec-p256' | 'ec-p384' | 'rsa-2048' | 'rsa-4096';

export interface TestKeyPair {
  kind: KeyKind;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** PKCS#8 PEM of the private key (what `cosign import-key-pair` reads). */
  privatePem: string;
  publicPem: string;
  spki: Buffer;
}

export function makeKeyPair(kind: KeyKind): TestKeyPair {
  const { privateKey, publicKey } =
    kind === 'ec-p256' || kind === 'ec-p384'
      ? generateKeyPairSync('ec', { namedCurve: kind === 'ec-p256' ? 'prime256v1' : 'secp384r1' })
      : generateKeyPairSync('rsa', { modulusLength: kind === 'rsa-2048' ? 2048 : 4096 });
  return {
    kind,
    privateKey,
    publicKey,
    privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    spki: publicKey.export({ format: 'der', type: 'spki' }),
  };
}
