/**
 * cosign 2 timestamps a legacy attestation (`.att` layer) over the whole DSSE envelope it stores,
 * cosign 3 (and every bundle) over the signature; sigstore-js checks a timestamp against the entity's
 * `signature.signature`. toVerifiableEntity hands it the envelope only when the timestamp's imprint is
 * the envelope's digest, and the signature itself still verifies against the envelope's signature.
 * (The real cosign 2 case runs in test/integration/cosign-oracle.test.ts, keyless-legacy+tsa rows.)
 */
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { initializeTSA } from '@sigstore/mock';
import { describe, expect, it } from 'vitest';
import { toBundleFromJSON } from '../../../../src/checks/signature/bundle-json.js';
import { toVerifiableEntity } from '../../../../src/checks/signature/signed-entity.js';

const PAYLOAD_TYPE = 'application/vnd.in-toto+json';

function pae(type: string, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} ${type} ${body.length} `), body]);
}

async function legacyAttestation(timestamped: 'envelope' | 'signature') {
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const payload = Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', subject: [] }));
  const sig = sign('sha256', pae(PAYLOAD_TYPE, payload), key.privateKey);
  const envelope = Buffer.from(
    JSON.stringify({
      payloadType: PAYLOAD_TYPE,
      payload: payload.toString('base64'),
      signatures: [{ keyid: '', sig: sig.toString('base64') }],
    }),
  );
  const tsa = await initializeTSA(generateKeyPairSync('ec', { namedCurve: 'P-256' }));
  const covered = timestamped === 'envelope' ? envelope : sig;
  const token = await tsa.timestamp({
    artifactHash: createHash('sha256').update(covered).digest(),
    hashAlgorithmOID: '2.16.840.1.101.3.4.2.1',
    nonce: 1,
    policyOID: '1.3.6.1.4.1.57264.2',
  });
  const bundle = toBundleFromJSON({
    mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.1',
    verificationMaterial: {
      publicKey: { hint: 'k' },
      tlogEntries: [],
      timestampVerificationData: {
        rfc3161Timestamps: [{ signedTimestamp: Buffer.from(token.buffer).toString('base64') }],
      },
    },
    dsseEnvelope: {
      payloadType: PAYLOAD_TYPE,
      payload: payload.toString('base64'),
      signatures: [{ keyid: '', sig: sig.toString('base64') }],
    },
  });
  return { bundle, envelope, sig, publicKey: key.publicKey };
}

describe('the bytes a legacy attestation timestamp covers', () => {
  it('is the envelope when the timestamp imprint is the envelope digest (cosign 2)', async () => {
    const a = await legacyAttestation('envelope');
    const entity = toVerifiableEntity(a.bundle, undefined, a.envelope);
    expect(Buffer.compare(entity.signature.signature, a.envelope)).toBe(0);
    // The DSSE signature is still checked over its PAE with the envelope's signature.
    expect(entity.signature.verifySignature(a.publicKey)).toBe(true);
    expect(entity.signature.compareSignature(a.sig)).toBe(true);
    expect(entity.signature.compareSignature(a.envelope)).toBe(false);
  });

  it('stays the signature when the timestamp covers the signature (cosign 3, bundles)', async () => {
    const a = await legacyAttestation('signature');
    const entity = toVerifiableEntity(a.bundle, undefined, a.envelope);
    expect(Buffer.compare(entity.signature.signature, a.sig)).toBe(0);
  });

  it('stays the signature for a candidate with no stored envelope (a bundle referrer)', async () => {
    const a = await legacyAttestation('envelope');
    const entity = toVerifiableEntity(a.bundle, undefined);
    expect(Buffer.compare(entity.signature.signature, a.sig)).toBe(0);
  });
});
