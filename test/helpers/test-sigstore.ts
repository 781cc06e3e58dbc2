/**
 * A private Sigstore instance for tests: test Fulcio CA + CT log + Rekor log from @sigstore/mock
 * (in process, no HTTP), a trusted_root.json describing them, and signers that produce cosign
 * artifacts in both storage formats (legacy `.sig` layer annotations, and Sigstore bundles).
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pem } from '@sigstore/core';
import { initializeCA, initializeCTLog, initializeTLog } from '@sigstore/mock';
import { FULCIO_CLAIMS, type ClaimName } from '../../src/checks/signature/fulcio-claims.js';

/** @sigstore/mock returns ArrayBufferViews; view them as bytes. */
const bytes = (v: ArrayBufferView): Buffer => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
const b64 = (b: Uint8Array | string): string => Buffer.from(b).toString('base64');
const hex256 = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');
const ecKeys = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });

export interface Identity {
  subject: string;
  issuer: string;
  /** Fulcio certificate extensions by claim name (e.g. sourceRepositoryURI), as Fulcio encodes them. */
  claims?: Partial<Record<ClaimName, string>>;
}

/** A release workflow identity the tests trust, and a look-alike they must not. */
export const ACME: Identity = {
  issuer: 'https://token.actions.githubusercontent.com',
  subject: 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main',
};
export const EVIL: Identity = {
  ...ACME,
  subject: 'https://github.com/evil/app/.github/workflows/release.yml@refs/heads/main',
};

export interface LegacySignature {
  payload: Buffer;
  annotations: Record<string, string>;
}

/** DSSE's pre-authentication encoding: the bytes a DSSE signature signs. */
export function dssePae(payloadType: string, payload: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${payloadType.length} ${payloadType} ${payload.length} `),
    payload,
  ]);
}

/** The simple-signing payload `cosign sign` signs for `digest`, naming the image `reference`. */
export function simpleSigningPayload(reference: unknown, digest: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': reference },
        image: { 'docker-manifest-digest': digest },
        type: 'cosign container image signature',
      },
      optional: null,
    }),
  );
}

/** A legacy `.sig` layer signed with a key (no certificate, no log entry), as `cosign sign --key` stores it. */
export function keySignedLayer(sign: (data: Buffer) => Buffer, payload: Buffer): LegacySignature {
  return { payload, annotations: { 'dev.cosignproject.cosign/signature': b64(sign(payload)) } };
}

export interface TestInstance {
  trustedRootPath: string;
  rootPem: string;
  /** Legacy cosign `.sig` layer for `digest`; `payloadDigest` lets tests sign another digest. */
  signLegacy(opts: {
    digest: string;
    identity: Identity;
    payloadDigest?: string;
    rekor?: boolean;
  }): Promise<LegacySignature>;
  /**
   * Legacy cosign `.att` layer (keyless): the DSSE envelope over an in-toto statement about `digest`
   * as the layer blob, certificate and chain annotations, and a Rekor dsse entry's SET, as
   * `cosign attest` stores it in the legacy format.
   */
  signLegacyAttestation(opts: {
    digest: string;
    identity: Identity;
    predicateType: string;
    predicate?: unknown;
  }): Promise<LegacySignature>;
  /**
   * Sigstore bundle (v0.3, DSSE in-toto) over `digest` (the statement names `subjectDigest` when
   * given, so tests can sign a statement about another image), with a Rekor dsse entry.
   */
  signBundle(opts: {
    digest: string;
    identity: Identity;
    predicateType: string;
    predicate?: unknown;
    subjectDigest?: string;
  }): Promise<object>;
}

type LogEntry = {
  body: string;
  integratedTime: number;
  logID: string;
  logIndex: number;
  verification: { signedEntryTimestamp: string; inclusionProof: Record<string, unknown> };
};

export async function createTestInstance(dir: string, clock?: Date): Promise<TestInstance> {
  const ctKeys = ecKeys();
  const caKeys = ecKeys();
  const tlogKeys = ecKeys();
  const ctLog = await initializeCTLog(ctKeys, clock);
  const ca = await initializeCA(caKeys, ctLog, clock);
  const tlog = await initializeTLog('https://rekor.imagegate.test', tlogKeys, clock);
  const since = '2000-01-01T00:00:00Z';
  const key = (raw: Uint8Array) => ({
    rawBytes: b64(raw),
    keyDetails: 'PKIX_ECDSA_P256_SHA_256',
    validFor: { start: since },
  });
  const spki = (k: KeyObject) => k.export({ format: 'der', type: 'spki' });
  const trustedRoot = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [
      {
        baseUrl: 'https://rekor.imagegate.test',
        hashAlgorithm: 'SHA2_256',
        publicKey: key(tlog.publicKey),
        logId: { keyId: b64(createHash('sha256').update(tlog.publicKey).digest()) },
      },
    ],
    certificateAuthorities: [
      {
        subject: { organization: 'imagegate-test', commonName: 'imagegate test CA' },
        uri: 'https://fulcio.imagegate.test',
        certChain: { certificates: [{ rawBytes: b64(bytes(ca.rootCertificate)) }] },
        validFor: { start: since },
      },
    ],
    ctlogs: [
      {
        baseUrl: 'https://ctfe.imagegate.test',
        hashAlgorithm: 'SHA2_256',
        publicKey: key(spki(ctKeys.publicKey)),
        logId: { keyId: b64(createHash('sha256').update(spki(ctKeys.publicKey)).digest()) },
      },
    ],
    timestampAuthorities: [],
  };
  const trustedRootPath = join(dir, 'trusted_root.json');
  writeFileSync(trustedRootPath, JSON.stringify(trustedRoot, null, 2));
  const rootPem = pem.fromDER(bytes(ca.rootCertificate));

  async function certify(identity: Identity) {
    const keys = ecKeys();
    const der = await ca.issueCertificate({
      publicKey: spki(keys.publicKey),
      subjectAltName: identity.subject,
      extensions: [
        { oid: '1.3.6.1.4.1.57264.1.1', value: identity.issuer, legacy: true },
        ...Object.entries(identity.claims ?? {}).map(([name, value]) => ({
          oid: FULCIO_CLAIMS[name as ClaimName].oid,
          value: value ?? '',
          legacy: FULCIO_CLAIMS[name as ClaimName].raw,
        })),
      ],
    });
    return { keys, certPem: pem.fromDER(bytes(der)), der: bytes(der) };
  }

  /** The log entry of a DSSE envelope over `payload`, signed by the certificate's key. */
  function dsseLogEntry(payload: Buffer, signature: Buffer, certPem: string): Promise<LogEntry> {
    return logEntry({
      apiVersion: '0.0.1',
      kind: 'dsse',
      spec: {
        payloadHash: { algorithm: 'sha256', value: hex256(payload) },
        signatures: [{ signature: b64(signature), verifier: b64(certPem) }],
      },
    });
  }

  async function logEntry(proposed: object): Promise<LogEntry> {
    const result = (await tlog.log(proposed)) as unknown as Record<string, LogEntry>;
    return Object.values(result)[0]!;
  }

  return {
    trustedRootPath,
    rootPem,
    async signLegacy({ digest, identity, payloadDigest, rekor = true }) {
      const payload = simpleSigningPayload('registry.imagegate.test/app', payloadDigest ?? digest);
      const { keys, certPem } = await certify(identity);
      const signature = sign('sha256', payload, keys.privateKey);
      const annotations: Record<string, string> = {
        'dev.cosignproject.cosign/signature': b64(signature),
        'dev.sigstore.cosign/certificate': certPem,
        'dev.sigstore.cosign/chain': rootPem,
      };
      if (rekor) {
        const e = await logEntry({
          apiVersion: '0.0.1',
          kind: 'hashedrekord',
          spec: {
            data: { hash: { algorithm: 'sha256', value: hex256(payload) } },
            signature: { content: b64(signature), publicKey: { content: b64(certPem) } },
          },
        });
        annotations['dev.sigstore.cosign/bundle'] = JSON.stringify({
          SignedEntryTimestamp: e.verification.signedEntryTimestamp,
          Payload: { body: e.body, integratedTime: e.integratedTime, logIndex: e.logIndex, logID: e.logID },
        });
      }
      return { payload, annotations };
    },
    async signLegacyAttestation({ digest, identity, predicateType, predicate = {} }) {
      const [alg, hex] = digest.split(':') as [string, string];
      const payload = Buffer.from(
        JSON.stringify({
          _type: 'https://in-toto.io/Statement/v0.1',
          subject: [{ name: 'registry.imagegate.test/app', digest: { [alg]: hex } }],
          predicateType,
          predicate,
        }),
      );
      const payloadType = 'application/vnd.in-toto+json';
      const pae = dssePae(payloadType, payload);
      const { keys, certPem } = await certify(identity);
      const signature = sign('sha256', pae, keys.privateKey);
      const e = await dsseLogEntry(payload, signature, certPem);
      const envelope = {
        payloadType,
        payload: b64(payload),
        signatures: [{ keyid: '', sig: b64(signature) }],
      };
      return {
        payload: Buffer.from(JSON.stringify(envelope)),
        annotations: {
          'dev.cosignproject.cosign/signature': '',
          'dev.sigstore.cosign/certificate': certPem,
          'dev.sigstore.cosign/chain': rootPem,
          'dev.sigstore.cosign/bundle': JSON.stringify({
            SignedEntryTimestamp: e.verification.signedEntryTimestamp,
            Payload: { body: e.body, integratedTime: e.integratedTime, logIndex: e.logIndex, logID: e.logID },
          }),
        },
      };
    },
    async signBundle({ digest, identity, predicateType, predicate = {}, subjectDigest }) {
      const [alg, hex] = (subjectDigest ?? digest).split(':') as [string, string];
      const statement = {
        _type: 'https://in-toto.io/Statement/v1',
        subject: [{ name: 'registry.imagegate.test/app', digest: { [alg]: hex } }],
        predicateType,
        predicate,
      };
      const payload = Buffer.from(JSON.stringify(statement));
      const payloadType = 'application/vnd.in-toto+json';
      const pae = dssePae(payloadType, payload);
      const { keys, certPem, der } = await certify(identity);
      const signature = sign('sha256', pae, keys.privateKey);
      const e = await dsseLogEntry(payload, signature, certPem);
      const proof = e.verification.inclusionProof as {
        logIndex: number;
        rootHash: string;
        treeSize: number;
        hashes: string[];
        checkpoint: string;
      };
      return {
        mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
        verificationMaterial: {
          certificate: { rawBytes: b64(der) },
          tlogEntries: [
            {
              logIndex: String(e.logIndex),
              logId: { keyId: Buffer.from(e.logID, 'hex').toString('base64') },
              kindVersion: { kind: 'dsse', version: '0.0.1' },
              integratedTime: String(e.integratedTime),
              inclusionPromise: { signedEntryTimestamp: e.verification.signedEntryTimestamp },
              inclusionProof: {
                logIndex: String(proof.logIndex),
                rootHash: Buffer.from(proof.rootHash, 'hex').toString('base64'),
                treeSize: String(proof.treeSize),
                hashes: proof.hashes,
                checkpoint: { envelope: proof.checkpoint },
              },
              canonicalizedBody: e.body,
            },
          ],
        },
        dsseEnvelope: {
          payload: b64(payload),
          payloadType,
          signatures: [{ sig: b64(signature), keyid: '' }],
        },
      };
    },
  };
}

/** A key pair as PEM (public) + KeyObject (private) for key-based test signatures. */
export function keyPair(type: 'ec-p256' | 'ec-p384' | 'rsa' | 'ed25519') {
  const pair =
    type === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : type === 'ed25519'
        ? generateKeyPairSync('ed25519')
        : generateKeyPairSync('ec', { namedCurve: type === 'ec-p256' ? 'P-256' : 'P-384' });
  return {
    publicPem: pair.publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    sign: (data: Buffer, hash: 'sha256' | 'sha384' = 'sha256') =>
      sign(type === 'ed25519' ? null : hash, data, pair.privateKey),
  };
}

/**
 * A Sigstore bundle (v0.3, DSSE in-toto statement over `digest`) signed with a key and no log entry,
 * as `cosign sign --key … --tlog-upload=false` stores it in the bundle format.
 */
export function signBundleWithKey(
  signer: (data: Buffer) => Buffer,
  opts: {
    digest: string;
    predicateType: string;
    predicate?: unknown;
    /** The subject's digest set (default: `digest` alone). */
    subjectDigests?: Record<string, string>;
  },
): object {
  const [alg, hex] = opts.digest.split(':') as [string, string];
  const payload = Buffer.from(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'registry.imagegate.test/app', digest: opts.subjectDigests ?? { [alg]: hex } }],
      predicateType: opts.predicateType,
      predicate: opts.predicate ?? {},
    }),
  );
  const payloadType = 'application/vnd.in-toto+json';
  const pae = dssePae(payloadType, payload);
  return {
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: { publicKey: { hint: '' }, tlogEntries: [] },
    dsseEnvelope: { payload: b64(payload), payloadType, signatures: [{ sig: b64(signer(pae)), keyid: '' }] },
  };
}

/**
 * A legacy cosign `.att` layer signed with a key (no log entry): the DSSE envelope over an in-toto
 * statement is the layer blob, as `cosign attest --key … --tlog-upload=false` stores it.
 */
export function signLegacyAttestationWithKey(
  signer: (data: Buffer) => Buffer,
  opts: { digest: string; predicateType: string; predicate?: unknown; subjectDigest?: string },
): LegacySignature {
  const [alg, hex] = (opts.subjectDigest ?? opts.digest).split(':') as [string, string];
  const payload = Buffer.from(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v0.1',
      subject: [{ name: 'registry.imagegate.test/app', digest: { [alg]: hex } }],
      predicateType: opts.predicateType,
      predicate: opts.predicate ?? {},
    }),
  );
  const payloadType = 'application/vnd.in-toto+json';
  const pae = dssePae(payloadType, payload);
  const envelope = {
    payloadType,
    payload: b64(payload),
    signatures: [{ keyid: '', sig: b64(signer(pae)) }],
  };
  return {
    payload: Buffer.from(JSON.stringify(envelope)),
    annotations: { 'dev.cosignproject.cosign/signature': '' },
  };
}
