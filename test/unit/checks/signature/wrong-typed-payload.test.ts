/**
 * Signed payloads of the wrong JSON type, found by the hostile-registry fuzzer
 * (test/helpers/registry-fuzz): validly signed, yet cosign rejects them while decoding into its
 * typed structs, so they must never verify here either.
 */
import { describe, expect, it } from 'vitest';
import { pushBundleReferrer, pushLegacySignatures } from '../../../helpers/cosign-push.js';
import { REPO, useTestSigstore } from '../../../helpers/signed-here-rig.js';
import { keyPair, keySignedLayer, dssePae } from '../../../helpers/test-sigstore.js';
import { COSIGN_SIGN_PREDICATE } from '../../../../src/checks/signature/signed-payload.js';

const k = keyPair('ec-p256');
const spec = {
  authorities: [{ name: 'release', key: { pem: k.publicPem } }],
  transparencyLog: 'optional' as const,
};

describe('signed payloads of the wrong type', () => {
  const { verify } = useTestSigstore();

  const legacy = (identity: unknown) => async (s: Parameters<Parameters<typeof verify>[1]>[0], d: string) => {
    const critical = {
      identity,
      image: { 'docker-manifest-digest': d },
      type: 'cosign container image signature',
    };
    const payload = Buffer.from(JSON.stringify({ critical, optional: null }));
    await pushLegacySignatures(s, REPO, d, [keySignedLayer(k.sign, payload)]);
  };

  describe('when a legacy payload has a wrong-typed critical.identity', () => {
    for (const identity of [12345, 'x', [null], { 'docker-reference': 12345 }, { 'docker-reference': {} }]) {
      it(`denies identity ${JSON.stringify(identity)} with SIGNATURE_MALFORMED`, async () => {
        const verdict = await verify(spec, legacy(identity));
        expect(verdict.code).toBe('SIGNATURE_MALFORMED');
        expect(verdict.message).toContain('unreadable payload');
      });
    }

    it('still passes identity null and a missing docker-reference (cosign accepts both)', async () => {
      expect((await verify(spec, legacy(null))).code).toBe('OK');
      expect((await verify(spec, legacy({}))).code).toBe('OK');
    });
  });

  describe('when a DSSE statement has a wrong-typed _type', () => {
    const bundle = (type: unknown, d: string): object => {
      const statement = Buffer.from(
        JSON.stringify({
          _type: type,
          subject: [{ name: REPO, digest: { sha256: d.slice('sha256:'.length) } }],
          predicateType: COSIGN_SIGN_PREDICATE,
          predicate: {},
        }),
      );
      const payloadType = 'application/vnd.in-toto+json';
      const pae = dssePae(payloadType, statement);
      return {
        mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
        verificationMaterial: { publicKey: { hint: '' }, tlogEntries: [] },
        dsseEnvelope: {
          payload: statement.toString('base64'),
          payloadType,
          signatures: [{ sig: k.sign(pae).toString('base64'), keyid: '' }],
        },
      };
    };
    const push = (type: unknown) => async (s: Parameters<Parameters<typeof verify>[1]>[0], d: string) => {
      const subject = { digest: d, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 1 };
      await pushBundleReferrer(s, REPO, subject, bundle(type, d));
    };

    it('denies _type [null] with SIGNATURE_MALFORMED', async () => {
      const verdict = await verify(spec, push([null]));
      expect(verdict.code).toBe('SIGNATURE_MALFORMED');
      expect(verdict.message).toContain('not an in-toto statement');
    });

    it('passes the same bundle with _type a string', async () => {
      expect((await verify(spec, push('https://in-toto.io/Statement/v1'))).code).toBe('OK');
    });
  });
});
