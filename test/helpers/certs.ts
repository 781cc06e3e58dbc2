/** Test PKI made with @peculiar/x509 on WebCrypto: a CA and leaf certificates for loopback. */
import { randomBytes, type webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
x509.cryptoProvider.set(globalThis.crypto);

export interface Pem {
  cert: string;
  key: string;
  serial: string;
}

export interface TestCa extends Pem {
  issue(commonName: string, opts?: { dnsNames?: string[]; ips?: string[]; client?: boolean }): Promise<Pem>;
}

async function keyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = await globalThis.crypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

/** Positive, even length, no leading zero: the form Node's getPeerCertificate().serialNumber prints. */
function nextSerial(): string {
  return '1' + randomBytes(7).toString('hex') + '1';
}

export async function createTestCa(name = 'imagegate test CA'): Promise<TestCa> {
  const keys = await globalThis.crypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const serial = nextSerial();
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial,
    name: `CN=${name}`,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    signingAlgorithm: ALG,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  return {
    cert: caCert.toString('pem'),
    key: await keyPem(keys.privateKey),
    serial,
    async issue(commonName, opts = {}) {
      const leafKeys = await globalThis.crypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
      const leafSerial = nextSerial();
      const names = [
        ...(opts.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
        ...(opts.ips ?? []).map((value) => ({ type: 'ip' as const, value })),
      ];
      const leaf = await x509.X509CertificateGenerator.create({
        serialNumber: leafSerial,
        subject: `CN=${commonName}`,
        issuer: caCert.subject,
        notBefore: new Date(Date.now() - 60_000),
        notAfter: new Date(Date.now() + 3_600_000),
        signingAlgorithm: ALG,
        publicKey: leafKeys.publicKey,
        signingKey: keys.privateKey,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension([
            opts.client === true ? x509.ExtendedKeyUsage.clientAuth : x509.ExtendedKeyUsage.serverAuth,
          ]),
          ...(names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names)] : []),
        ],
      });
      return { cert: leaf.toString('pem'), key: await keyPem(leafKeys.privateKey), serial: leafSerial };
    },
  };
}
