/**
 * Keyless signatures for `serve --warm-up` when a loaded policy names a keyless authority: a
 * throwaway Sigstore made at start (a CA, a Fulcio-style leaf per signature carrying the issuer
 * extension, a transparency log key) whose trusted_root.json only the warm-up's own engine reads,
 * and signatures stored as `cosign sign` stores them in the legacy format (certificate, chain and
 * the log entry with its signed entry timestamp as `.sig` annotations). Reviewing them runs the
 * keyless path: the chain to the root, the log entry's SET and body, the identity. The serving
 * engine trusts none of it.
 */
import { createHash, KeyObject, sign, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { CA_ALG as ALG, serial, throwawayCa } from '../shared/throwaway-ca.js';
/** The Fulcio issuer extension (v1, a raw string), as Fulcio and cosign's test CAs write it. */
const OID_ISSUER_V1 = '1.3.6.1.4.1.57264.1.1';

export const WARM_UP_ROOT = 'imagegate-warm-up';
export const WARM_UP_ISSUER = 'https://warm-up.imagegate.invalid';
export const WARM_UP_SUBJECT = 'https://warm-up.imagegate.invalid/signer';

export interface KeylessSigner {
  /** trusted_root.json for `--trusted-root imagegate-warm-up=FILE`. */
  trustedRoot: object;
  /** The `.sig` layer's signature over `payload` and the annotations that make it keyless. */
  sign(payload: Buffer): Promise<{ signature: Buffer; annotations: Record<string, string> }>;
}

const b64 = (b: ArrayBuffer | Buffer): string => Buffer.from(b as ArrayBuffer).toString('base64');

/** RFC 8785's key order for the plain objects Rekor signs (strings, integers, nested objects). */
function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const o = value as Record<string, unknown>;
  return `{${Object.keys(o)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
    .join(',')}}`;
}

export async function keylessSigner(now = Date.now()): Promise<KeylessSigner> {
  const ca = await throwawayCa('CN=imagegate warm-up CA,O=imagegate', now, 24 * 3600_000);
  const { cert: root, keys: caKeys, pem: rootPem } = ca;
  const tlog = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const tlogSpki = Buffer.from(await webcrypto.subtle.exportKey('spki', tlog.publicKey));
  const tlogPrivate = KeyObject.from(tlog.privateKey);
  const logId = createHash('sha256').update(tlogSpki).digest();
  const since = new Date(now - 3600_000).toISOString();
  const trustedRoot = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [
      {
        baseUrl: 'https://rekor.warm-up.imagegate.invalid',
        hashAlgorithm: 'SHA2_256',
        publicKey: {
          rawBytes: b64(tlogSpki),
          keyDetails: 'PKIX_ECDSA_P256_SHA_256',
          validFor: { start: since },
        },
        logId: { keyId: b64(logId) },
      },
    ],
    certificateAuthorities: [
      {
        subject: { organization: 'imagegate', commonName: 'imagegate warm-up CA' },
        uri: 'https://fulcio.warm-up.imagegate.invalid',
        certChain: { certificates: [{ rawBytes: b64(root.rawData) }] },
        validFor: { start: since },
      },
    ],
    ctlogs: [],
    timestampAuthorities: [],
  };

  const sign_ = async (payload: Buffer) => {
    const leafKeys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
    const issued = Date.now();
    const leaf = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      issuer: root.subject,
      notBefore: new Date(issued - 60_000),
      notAfter: new Date(issued + 10 * 60_000),
      publicKey: leafKeys.publicKey,
      signingKey: caKeys.privateKey,
      signingAlgorithm: ALG,
      extensions: [
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.codeSigning]),
        new x509.SubjectAlternativeNameExtension([{ type: 'url', value: WARM_UP_SUBJECT }], true),
        await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
        new x509.Extension(OID_ISSUER_V1, false, Buffer.from(WARM_UP_ISSUER)),
      ],
    });
    const certPem = leaf.toString('pem') + '\n';
    const signature = sign('sha256', payload, KeyObject.from(leafKeys.privateKey));
    const body = Buffer.from(
      canonical({
        apiVersion: '0.0.1',
        kind: 'hashedrekord',
        spec: {
          data: { hash: { algorithm: 'sha256', value: createHash('sha256').update(payload).digest('hex') } },
          signature: { content: b64(signature), publicKey: { content: b64(Buffer.from(certPem)) } },
        },
      }),
    ).toString('base64');
    const entry = {
      body,
      integratedTime: Math.floor(issued / 1000),
      logIndex: 1,
      logID: logId.toString('hex'),
    };
    const set = sign('sha256', Buffer.from(canonical(entry)), tlogPrivate);
    return {
      signature,
      annotations: {
        'dev.sigstore.cosign/certificate': certPem,
        'dev.sigstore.cosign/chain': rootPem,
        'dev.sigstore.cosign/bundle': JSON.stringify({ SignedEntryTimestamp: b64(set), Payload: entry }),
      },
    };
  };
  return { trustedRoot, sign: sign_ };
}
