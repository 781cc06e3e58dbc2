/**
 * Keyless signatures for `serve --warm-up` when a loaded policy names a keyless authority: a
 * throwaway Sigstore made at start (a CA, a Fulcio-style leaf per signature carrying the issuer
 * extension and an SCT from a throwaway CT log, a transparency log key) whose trusted_root.json only
 * the warm-up's own engine reads, and signatures in both forms cosign stores: the legacy `.sig`
 * (certificate, chain and the log entry with its signed entry timestamp as annotations) and the
 * Sigstore bundle (a DSSE statement, its log entry's SET, inclusion proof and signed checkpoint).
 * Verifying them runs the keyless path: the chain to the root, the SCT, the log entry's SET, body and
 * inclusion proof, the identity. The serving engine trusts none of it.
 */
import { createHash, KeyObject, sign, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { CA_ALG as ALG, serial, throwawayCa } from '../shared/throwaway-ca.js';
import { dssePae, IN_TOTO } from './signed-image-builder.js';
/** The Fulcio issuer extension (v1, a raw string), as Fulcio and cosign's test CAs write it. */
const OID_ISSUER_V1 = '1.3.6.1.4.1.57264.1.1';
/** RFC 6962's embedded SCT list extension. */
const OID_SCT_LIST = '1.3.6.1.4.1.11129.2.4.2';
const TLOG_URL = 'https://rekor.warm-up.imagegate.invalid';

export const WARM_UP_ROOT = 'imagegate-warm-up';
export const WARM_UP_ISSUER = 'https://warm-up.imagegate.invalid';
export const WARM_UP_SUBJECT = 'https://warm-up.imagegate.invalid/signer';

export interface KeylessSigner {
  /** trusted_root.json for `--trusted-root imagegate-warm-up=FILE`. */
  trustedRoot: object;
  /** The `.sig` layer's signature over `payload` and the annotations that make it keyless. */
  sign(payload: Buffer): Promise<{ signature: Buffer; annotations: Record<string, string> }>;
  /** A Sigstore bundle (v0.3) of a DSSE envelope over the in-toto `statement`, logged. */
  signBundle(statement: Buffer): Promise<object>;
}

const b64 = (b: ArrayBuffer | Buffer): string => Buffer.from(b as ArrayBuffer).toString('base64');
const sha256 = (b: Buffer | ArrayBuffer): Buffer =>
  createHash('sha256')
    .update(Buffer.from(b as ArrayBuffer))
    .digest();

/** RFC 8785's key order for the plain values Rekor signs (strings, integers, arrays, objects). */
function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const o = value as Record<string, unknown>;
  return `{${Object.keys(o)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
    .join(',')}}`;
}

/** `n` as a big-endian integer of `bytes` bytes (TLS encoding). */
function uint(n: number | bigint, bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  let v = BigInt(n);
  for (let i = bytes - 1; i >= 0; i--, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}

/** DER: where the element at `at` ends, and where its content starts. */
function element(der: Buffer, at: number): { content: number; end: number } {
  const first = der[at + 1] ?? 0;
  if (first < 0x80) return { content: at + 2, end: at + 2 + first };
  const n = first & 0x7f;
  const length = der.readUIntBE(at + 2, n);
  return { content: at + 2 + n, end: at + 2 + n + length };
}

/** A certificate's TBSCertificate: the first element inside its SEQUENCE, as encoded. */
function firstElement(der: Buffer): Buffer {
  const inner = element(der, 0).content;
  return der.subarray(inner, element(der, inner).end);
}

/** A Rekor key: its SPKI, its log id (the SPKI's SHA-256) and how it signs. */
async function logKey(): Promise<{ spki: Buffer; id: Buffer; key: KeyObject }> {
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const spki = Buffer.from(await webcrypto.subtle.exportKey('spki', keys.publicKey));
  return { spki, id: sha256(spki), key: KeyObject.from(keys.privateKey) };
}

export async function keylessSigner(now = Date.now()): Promise<KeylessSigner> {
  const ca = await throwawayCa('CN=imagegate warm-up CA,O=imagegate', now, 24 * 3600_000);
  const { cert: root, keys: caKeys, pem: rootPem } = ca;
  const issuerKeyHash = sha256(root.publicKey.rawData);
  const [tlog, ctlog] = [await logKey(), await logKey()];
  const since = new Date(now - 3600_000).toISOString();
  const log = (url: string, k: { spki: Buffer; id: Buffer }) => ({
    baseUrl: url,
    hashAlgorithm: 'SHA2_256',
    publicKey: { rawBytes: b64(k.spki), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start: since } },
    logId: { keyId: b64(k.id) },
  });
  const trustedRoot = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [log(TLOG_URL, tlog)],
    certificateAuthorities: [
      {
        subject: { organization: 'imagegate', commonName: 'imagegate warm-up CA' },
        uri: 'https://fulcio.warm-up.imagegate.invalid',
        certChain: { certificates: [{ rawBytes: b64(root.rawData) }] },
        validFor: { start: since },
      },
    ],
    ctlogs: [log('https://ctfe.warm-up.imagegate.invalid', ctlog)],
    timestampAuthorities: [],
  };

  /** A leaf as Fulcio issues it: the precertificate's TBS logged, its SCT embedded (RFC 6962 3.2). */
  const certify = async (issued: number) => {
    const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
    const params = {
      serialNumber: serial(),
      issuer: root.subject,
      notBefore: new Date(issued - 60_000),
      notAfter: new Date(issued + 10 * 60_000),
      publicKey: keys.publicKey,
      signingKey: caKeys.privateKey,
      signingAlgorithm: ALG,
      extensions: [
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.codeSigning]),
        new x509.SubjectAlternativeNameExtension([{ type: 'url', value: WARM_UP_SUBJECT }], true),
        await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
        new x509.Extension(OID_ISSUER_V1, false, Buffer.from(WARM_UP_ISSUER)),
      ],
    };
    const pre = await x509.X509CertificateGenerator.create(params);
    const tbs = firstElement(Buffer.from(pre.rawData));
    const timestamp = uint(issued, 8);
    const signed = Buffer.concat([
      Buffer.from([0, 0]), // v1, certificate_timestamp
      timestamp,
      uint(1, 2), // precert_entry
      issuerKeyHash,
      uint(tbs.length, 3),
      tbs,
      uint(0, 2), // no extensions
    ]);
    const sig = sign('sha256', signed, ctlog.key);
    const sct = Buffer.concat([Buffer.from([0]), ctlog.id, timestamp, uint(0, 2), Buffer.from([4, 3])]);
    const one = Buffer.concat([sct, uint(sig.length, 2), sig]);
    const list = Buffer.concat([uint(one.length + 2, 2), uint(one.length, 2), one]);
    const value = Buffer.concat([Buffer.from([0x04, list.length]), list]); // an OCTET STRING (< 128 bytes)
    const leaf = await x509.X509CertificateGenerator.create({
      ...params,
      extensions: [...params.extensions, new x509.Extension(OID_SCT_LIST, false, value)],
    });
    return { leaf, pem: leaf.toString('pem') + '\n', key: KeyObject.from(keys.privateKey) };
  };

  /** A Rekor v1 entry of `body` (canonical JSON), its SET, and a one-leaf tree's signed checkpoint. */
  const logged = (body: object, issued: number) => {
    const bytes = Buffer.from(canonical(body));
    const entry = {
      body: bytes.toString('base64'),
      integratedTime: Math.floor(issued / 1000),
      logIndex: 0,
      logID: tlog.id.toString('hex'),
    };
    const set = sign('sha256', Buffer.from(canonical(entry)), tlog.key);
    const rootHash = createHash('sha256')
      .update(Buffer.from([0]))
      .update(bytes)
      .digest();
    const host = new URL(TLOG_URL).host;
    const note = `${host} - 1\n1\n${rootHash.toString('base64')}\n`;
    const noteSig = Buffer.concat([tlog.id.subarray(0, 4), sign('sha256', Buffer.from(note), tlog.key)]);
    const checkpoint = `${note}\n\u2014 ${host} ${noteSig.toString('base64')}\n`;
    return { entry, set, rootHash, checkpoint };
  };

  const sign_ = async (payload: Buffer) => {
    const issued = Date.now();
    const { pem, key } = await certify(issued);
    const signature = sign('sha256', payload, key);
    const { entry, set } = logged(
      {
        apiVersion: '0.0.1',
        kind: 'hashedrekord',
        spec: {
          data: { hash: { algorithm: 'sha256', value: sha256(payload).toString('hex') } },
          signature: { content: b64(signature), publicKey: { content: b64(Buffer.from(pem)) } },
        },
      },
      issued,
    );
    return {
      signature,
      annotations: {
        'dev.sigstore.cosign/certificate': pem,
        'dev.sigstore.cosign/chain': rootPem,
        'dev.sigstore.cosign/bundle': JSON.stringify({ SignedEntryTimestamp: b64(set), Payload: entry }),
      },
    };
  };

  const signBundle = async (statement: Buffer): Promise<object> => {
    const issued = Date.now();
    const { leaf, pem, key } = await certify(issued);
    const signature = sign('sha256', dssePae(IN_TOTO, statement), key);
    const { entry, set, rootHash, checkpoint } = logged(
      {
        apiVersion: '0.0.1',
        kind: 'dsse',
        spec: {
          payloadHash: { algorithm: 'sha256', value: sha256(statement).toString('hex') },
          signatures: [{ signature: b64(signature), verifier: b64(Buffer.from(pem)) }],
        },
      },
      issued,
    );
    return {
      mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      verificationMaterial: {
        certificate: { rawBytes: b64(leaf.rawData) },
        tlogEntries: [
          {
            logIndex: '0',
            logId: { keyId: b64(tlog.id) },
            kindVersion: { kind: 'dsse', version: '0.0.1' },
            integratedTime: String(entry.integratedTime),
            inclusionPromise: { signedEntryTimestamp: b64(set) },
            inclusionProof: {
              logIndex: '0',
              rootHash: b64(rootHash),
              treeSize: '1',
              hashes: [],
              checkpoint: { envelope: checkpoint },
            },
            canonicalizedBody: entry.body,
          },
        ],
      },
      dsseEnvelope: {
        payload: b64(statement),
        payloadType: IN_TOTO,
        signatures: [{ sig: b64(signature), keyid: '' }],
      },
    };
  };
  return { trustedRoot, sign: sign_, signBundle };
}
