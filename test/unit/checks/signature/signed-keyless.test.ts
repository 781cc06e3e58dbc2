/** Keyless signatures made by the tests: the legacy format, .att attestations and bundles (OCI referrers). */
import { describe, expect, it } from 'vitest';
import { COSIGN_SIGN_PREDICATE } from '../../../../src/checks/signature/signed-payload.js';
import { compileSignatureVerifier, loadTrustedRoots } from '../../../../src/checks/signature/index.js';
import { parseReference } from '../../../../src/registry/reference.js';
import { pushBundleFor, pushLegacySignatures } from '../../../helpers/cosign-push.js';
import { sha256 } from '../../../helpers/memory-registry.js';
import { signal, tempDir } from '../../../helpers/signature-setup.js';
import { ACME, createTestInstance, EVIL, type Identity } from '../../../helpers/test-sigstore.js';
import { SLSA, imageManifest, keyless, memory, useTestSigstore } from '../../../helpers/signed-here-rig.js';

describe('signatures made by the tests', () => {
  const rig = useTestSigstore();
  const { repo } = rig;
  const { verify, verifyAndAttest } = rig;

  describe('when keyless-signed in the legacy format', () => {
    it('passes with the matching identity, Rekor SET and SCT', async () => {
      const verdict = await verify(keyless(), async (s, d) => {
        await pushLegacySignatures(s, repo, d, [
          await rig.instance.signLegacy({ digest: d, identity: ACME }),
        ]);
      });
      expect(verdict.code, verdict.message).toBe('OK');
      expect(verdict.signatures[0]).toMatchObject({
        authority: 'ci',
        format: 'cosign-legacy',
        tlogEntries: 1,
      });
      expect(verdict.signatures[0]!.signer.subject).toBe(ACME.subject);
    });

    it('denies another identity with IDENTITY_MISMATCH and says who signed', async () => {
      const verdict = await verify(keyless(), async (s, d) => {
        await pushLegacySignatures(s, repo, d, [
          await rig.instance.signLegacy({ digest: d, identity: EVIL }),
          await rig.instance.signLegacy({ digest: d, identity: EVIL }),
        ]);
      });
      expect(verdict.code).toBe('IDENTITY_MISMATCH');
      expect(verdict.message).toContain(
        'no signature from authority "ci" verified: found 2 signatures; 2 by subject',
      );
      expect(verdict.message).toContain(`(wanted ${ACME.subject})`);
    });

    it('denies a subjectRegExp bypass: the pattern must match the whole subject', async () => {
      const longer: Identity = { ...ACME, subject: `${ACME.subject}.evil` };
      const verdict = await verify(
        keyless(
          {},
          { subject: undefined, subjectRegExp: 'https://github\\.com/acme/app/.*@refs/heads/main' },
        ),
        async (s, d) => {
          await pushLegacySignatures(s, repo, d, [
            await rig.instance.signLegacy({ digest: d, identity: longer }),
          ]);
        },
      );
      expect(verdict.code).toBe('IDENTITY_MISMATCH');
    });

    it('denies a payload naming another digest with DIGEST_MISMATCH', async () => {
      const verdict = await verify(keyless(), async (s, d) => {
        const other = sha256('another image');
        await pushLegacySignatures(s, repo, d, [
          await rig.instance.signLegacy({ digest: d, identity: ACME, payloadDigest: other }),
        ]);
      });
      expect(verdict.code).toBe('DIGEST_MISMATCH');
    });

    it('denies a bit-flipped signature (the Rekor entry no longer matches) with TLOG_INVALID', async () => {
      const verdict = await verify(keyless(), async (s, d) => {
        const sig = await rig.instance.signLegacy({ digest: d, identity: ACME });
        const raw = Buffer.from(sig.annotations['dev.cosignproject.cosign/signature']!, 'base64');
        raw[raw.length - 1]! ^= 0x01;
        sig.annotations['dev.cosignproject.cosign/signature'] = raw.toString('base64');
        await pushLegacySignatures(s, repo, d, [sig]);
      });
      expect(verdict.code).toBe('TLOG_INVALID');
    });

    it('denies a SET moved onto another body with TLOG_INVALID', async () => {
      const verdict = await verify(keyless(), async (s, d) => {
        const a = await rig.instance.signLegacy({ digest: d, identity: ACME });
        const b = await rig.instance.signLegacy({ digest: d, identity: ACME });
        const setA = JSON.parse(a.annotations['dev.sigstore.cosign/bundle']!);
        const setB = JSON.parse(b.annotations['dev.sigstore.cosign/bundle']!);
        setB.SignedEntryTimestamp = setA.SignedEntryTimestamp;
        b.annotations['dev.sigstore.cosign/bundle'] = JSON.stringify(setB);
        await pushLegacySignatures(s, repo, d, [b]);
      });
      expect(verdict.code).toBe('TLOG_INVALID');
      expect(verdict.message).toContain('with an invalid Rekor SET');
    });

    it('denies a certificate without log entry when the log is required (default for keyless)', async () => {
      const verdict = await verify(keyless(), async (s, d) => {
        await pushLegacySignatures(s, repo, d, [
          await rig.instance.signLegacy({ digest: d, identity: ACME, rekor: false }),
        ]);
      });
      expect(verdict.code).toBe('TLOG_MISSING');
    });

    describe('when the certificate is from another CA and has no log entry', () => {
      it('says the certificate does not chain to the trusted root, not TLOG_MISSING', async () => {
        const foreign = await createTestInstance(tempDir());
        const verdict = await verify(keyless(), async (s, d) => {
          await pushLegacySignatures(s, repo, d, [
            await foreign.signLegacy({ digest: d, identity: ACME, rekor: false }),
          ]);
        });
        expect(verdict.code).toBe('CERTIFICATE_INVALID');
        expect(verdict.message).toContain('with a certificate that does not chain to trusted root "test"');
      });
    });

    it('denies an expired certificate without a timestamp with CERTIFICATE_INVALID', async () => {
      const old = await createTestInstance(tempDir(), new Date('2020-01-01T00:00:00Z'));
      const oldRoots = await loadTrustedRoots({
        files: [{ name: 'test', path: old.trustedRootPath }],
        offline: true,
      });
      const { reg, seeder } = memory();
      const digest = reg.putManifest(repo, imageManifest());
      await pushLegacySignatures(seeder, repo, digest, [
        await old.signLegacy({ digest, identity: ACME, rekor: false }),
      ]);
      const v = compileSignatureVerifier(keyless({ transparencyLog: 'optional' }), 'test', {
        trustedRoots: oldRoots,
      });
      const verdict = await v.verify(reg, parseReference(`${repo}@${digest}`), digest, signal());
      expect(verdict.code, verdict.message).toBe('CERTIFICATE_INVALID');
    });
  });

  describe('when attested in the legacy format (.att tag)', () => {
    it('verifies the DSSE layer and exposes the statement as an attestation when asked', async () => {
      const { verdict, attestations } = await verifyAndAttest(keyless(), async (s, d) => {
        const b = (await rig.instance.signBundle({ digest: d, identity: ACME, predicateType: SLSA })) as {
          verificationMaterial: {
            certificate: { rawBytes: string };
            tlogEntries: {
              logIndex: string;
              logId: { keyId: string };
              integratedTime: string;
              inclusionPromise: { signedEntryTimestamp: string };
              canonicalizedBody: string;
            }[];
          };
          dsseEnvelope: object;
        };
        const e = b.verificationMaterial.tlogEntries[0]!;
        const der = Buffer.from(b.verificationMaterial.certificate.rawBytes, 'base64');
        const certPem = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`;
        await pushLegacySignatures(
          s,
          repo,
          d,
          [
            {
              payload: Buffer.from(JSON.stringify(b.dsseEnvelope)),
              annotations: {
                'dev.sigstore.cosign/certificate': certPem,
                'dev.sigstore.cosign/chain': rig.instance.rootPem,
                'dev.sigstore.cosign/bundle': JSON.stringify({
                  SignedEntryTimestamp: e.inclusionPromise.signedEntryTimestamp,
                  Payload: {
                    body: e.canonicalizedBody,
                    integratedTime: Number(e.integratedTime),
                    logIndex: Number(e.logIndex),
                    logID: Buffer.from(e.logId.keyId, 'base64').toString('hex'),
                  },
                }),
              },
            },
          ],
          'att',
        );
      });
      expect(verdict.passed).toBe(false);
      // The verdict itself never reads the `.att` tag; an attestation is not a signature.
      expect(verdict.code).toBe('NO_SIGNATURES');
      expect(verdict.attestations).toEqual([]);
      expect(attestations).toHaveLength(1);
      expect(attestations[0]).toMatchObject({
        format: 'cosign-legacy',
        predicateType: SLSA,
        authority: 'ci',
      });
    });
  });

  describe('when keyless-signed in the bundle format (OCI referrer)', () => {
    it('passes a cosign v3 signature bundle and keeps attestations apart', async () => {
      const verdict = await verify(keyless(), async (s, d) => {
        await pushBundleFor(
          s,
          repo,
          d,
          await rig.instance.signBundle({ digest: d, identity: ACME, predicateType: COSIGN_SIGN_PREDICATE }),
        );
        await pushBundleFor(
          s,
          repo,
          d,
          await rig.instance.signBundle({
            digest: d,
            identity: ACME,
            predicateType: SLSA,
            predicate: { buildDefinition: {} },
          }),
          SLSA,
        );
      });
      expect(verdict.code, verdict.message).toBe('OK');
      expect(verdict.signatures).toHaveLength(1);
      expect(verdict.attestations.map((a) => a.predicateType)).toEqual([SLSA]);
    });

    it('does not count an attestation as a signature', async () => {
      const verdict = await verify(keyless(), async (s, d) => {
        await pushBundleFor(
          s,
          repo,
          d,
          await rig.instance.signBundle({ digest: d, identity: ACME, predicateType: SLSA }),
          SLSA,
        );
      });
      expect(verdict.passed).toBe(false);
      expect(verdict.attestations).toHaveLength(1);
    });

    it('denies a bundle with a bad inclusion proof with TLOG_INVALID', async () => {
      const verdict = await verify(keyless(), async (s, d) => {
        const b = (await rig.instance.signBundle({
          digest: d,
          identity: ACME,
          predicateType: COSIGN_SIGN_PREDICATE,
        })) as {
          verificationMaterial: { tlogEntries: { inclusionProof: { hashes: string[] } }[] };
        };
        // A sibling hash the log never had: the computed root no longer matches the signed checkpoint.
        b.verificationMaterial.tlogEntries[0]!.inclusionProof.hashes.push(
          Buffer.alloc(32, 7).toString('base64'),
        );
        await pushBundleFor(s, repo, d, b);
      });
      expect(verdict.code).toBe('TLOG_INVALID');
    });

    it('denies a bundle whose statement names another digest with DIGEST_MISMATCH', async () => {
      const verdict = await verify(keyless(), async (s, d) => {
        const b = await rig.instance.signBundle({
          digest: sha256('other'),
          identity: ACME,
          predicateType: COSIGN_SIGN_PREDICATE,
        });
        await pushBundleFor(s, repo, d, b);
      });
      expect(verdict.code).toBe('DIGEST_MISMATCH');
    });
  });
});
