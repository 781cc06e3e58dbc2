/**
 * A self-signed ECDSA P-256 CA made at run time: the development TLS certificate's CA
 * (server/dev-cert.ts) and the warm-up's throwaway Sigstore root (cli/warm-up-keyless.ts).
 */
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

// @peculiar/x509 types its provider with the DOM Crypto type; Node's webcrypto implements it.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export const CA_ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** A random positive 128-bit serial number, as hex. */
export function serial(): string {
  return Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)))
    .toString('hex')
    .replace(/^[89a-f]/, '1');
}

export interface ThrowawayCa {
  cert: x509.X509Certificate;
  keys: webcrypto.CryptoKeyPair;
  /** The certificate in PEM, ending with a newline. */
  pem: string;
}

/** A CA valid from a minute before `now` for `lifetimeMs`, signing certificates only (path length 0). */
export async function throwawayCa(name: string, now: number, lifetimeMs: number): Promise<ThrowawayCa> {
  const keys = await webcrypto.subtle.generateKey(CA_ALG, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + lifetimeMs),
    keys,
    signingAlgorithm: CA_ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, keys, pem: cert.toString('pem') + '\n' };
}
