/** Key signatures made by the tests (every key type, secretRef keys), and multi-arch images. */
import { describe, expect, it, vi } from 'vitest';
import {
  compileSignatureCheck,
  compileSignatureVerifier,
  imageSignatureWhere,
} from '../../../../src/checks/signature/index.js';
import { parseReference } from '../../../../src/registry/reference.js';
import { checkInput } from '../../../helpers/check-input.js';
import { pushBundleFor, pushBundleReferrer, pushLegacySignatures } from '../../../helpers/cosign-push.js';
import type { MemoryRegistry } from '../../../helpers/memory-registry.js';
import { signal } from '../../../helpers/signature-setup.js';
import type { Seeder } from '../../../helpers/seeder.js';
import { ACME, keyPair, signBundleWithKey, simpleSigningPayload } from '../../../helpers/test-sigstore.js';
import { SLSA, imageManifest, keyless, memory, useTestSigstore } from '../../../helpers/signed-here-rig.js';

describe('signatures made by the tests', () => {
  const rig = useTestSigstore();
  const { repo } = rig;
  const { verify } = rig;

  describe('when key-signed', () => {
    const payloadFor = (digest: string) => simpleSigningPayload(repo, digest);

    for (const type of ['ec-p256', 'ec-p384', 'rsa', 'ed25519'] as const) {
      it(`passes a ${type} key signature`, async () => {
        const k = keyPair(type);
        const verdict = await verify(
          { authorities: [{ name: type, key: { pem: k.publicPem } }] },
          async (s, d) => {
            const payload = payloadFor(d);
            await pushLegacySignatures(s, repo, d, [
              {
                payload,
                annotations: { 'dev.cosignproject.cosign/signature': k.sign(payload).toString('base64') },
              },
            ]);
          },
        );
        expect(verdict.code, verdict.message).toBe('OK');
      });
    }

    it('denies a bit-flipped key signature with SIGNATURE_INVALID', async () => {
      const k = keyPair('ec-p256');
      const verdict = await verify(
        { authorities: [{ name: 'release', key: { pem: k.publicPem } }] },
        async (s, d) => {
          const payload = payloadFor(d);
          const sig = k.sign(payload);
          sig[10]! ^= 0x01;
          await pushLegacySignatures(s, repo, d, [
            { payload, annotations: { 'dev.cosignproject.cosign/signature': sig.toString('base64') } },
          ]);
        },
      );
      expect(verdict.code).toBe('SIGNATURE_INVALID');
      expect(verdict.message).toContain(
        'no signature from authority "release" verified: found 1 signature; 1 not signed by key',
      );
    });

    it('reads a secretRef key through the SecretReader', async () => {
      const k = keyPair('ec-p256');
      const secrets = {
        read: async (ref: { namespace?: string; name: string; key: string }) => {
          if (ref.name === 'signing' && ref.key === 'cosign.pub') return k.publicPem;
          throw new Error(`secret ${ref.name} not found`);
        },
      };
      const { reg, seeder } = memory();
      const digest = reg.putManifest(repo, imageManifest());
      const payload = payloadFor(digest);
      await pushLegacySignatures(seeder, repo, digest, [
        {
          payload,
          annotations: { 'dev.cosignproject.cosign/signature': k.sign(payload).toString('base64') },
        },
      ]);
      const ok = compileSignatureVerifier(
        { authorities: [{ key: { secretRef: { name: 'signing', key: 'cosign.pub' } } }] },
        'test',
        { trustedRoots: rig.roots, secrets },
      );
      expect((await ok.verify(reg, parseReference(`${repo}@${digest}`), digest, signal())).code).toBe('OK');
      const missing = compileSignatureVerifier(
        { authorities: [{ key: { secretRef: { name: 'absent', key: 'cosign.pub' } } }] },
        'test',
        { trustedRoots: rig.roots, secrets },
      );
      await expect(
        missing.verify(reg, parseReference(`${repo}@${digest}`), digest, signal()),
      ).rejects.toMatchObject({
        code: 'SECRET_UNAVAILABLE',
        indeterminate: true,
      });
    });
  });

  describe('when only an attestation is stored', () => {
    const attest = (sign: (d: Buffer) => Buffer) => async (s: Seeder, d: string) => {
      const subject = { digest: d, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 1 };
      await pushBundleReferrer(s, repo, subject, signBundleWithKey(sign, { digest: d, predicateType: SLSA }));
    };

    it('says NO_SIGNATURES and that the one thing found is an attestation', async () => {
      const k = keyPair('ec-p256');
      const verdict = await verify(
        { authorities: [{ name: 'release', key: { pem: k.publicPem } }] },
        attest(k.sign),
      );
      expect(verdict.code).toBe('NO_SIGNATURES');
      expect(verdict.message).toMatch(
        /^no signatures found for sha256:[0-9a-f]{64} \(only 1 attestation, which is not a signature\)$/,
      );
    });

    it('says the same when another key signed the attestation', async () => {
      const k = keyPair('ec-p256');
      const verdict = await verify(
        { authorities: [{ name: 'release', key: { pem: k.publicPem } }] },
        attest(keyPair('ec-p256').sign),
      );
      expect(verdict.code).toBe('NO_SIGNATURES');
      expect(verdict.message).toContain('(only 1 attestation, which is not a signature)');
    });
  });

  describe('when the image is multi-arch', () => {
    async function indexWithPlatforms(s: MemoryRegistry) {
      const amd = s.putManifest(repo, imageManifest());
      const arm = s.putManifest(repo, imageManifest());
      const index = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.index.v1+json',
          manifests: [
            {
              mediaType: 'application/vnd.oci.image.manifest.v1+json',
              digest: amd,
              size: 1,
              platform: { os: 'linux', architecture: 'amd64' },
            },
            {
              mediaType: 'application/vnd.oci.image.manifest.v1+json',
              digest: arm,
              size: 1,
              platform: { os: 'linux', architecture: 'arm64' },
            },
          ],
        }),
      );
      const digest = s.putManifest(repo, index, 'v1');
      return { digest, amd, arm };
    }

    async function runCheck(reg: MemoryRegistry, platforms: string[]) {
      const check = compileSignatureCheck(keyless(), 'multi', { trustedRoots: rig.roots });
      const ref = parseReference(`${repo}:v1`);
      const resolved = await reg.resolve(ref, signal());
      const input = checkInput({ reference: ref, resolved, registry: reg, platforms, signal: signal() });
      const finding = await check.run(input);
      return { finding, facts: input.facts };
    }

    it('accepts a signature on the index for its platforms', async () => {
      const { reg, seeder } = memory();
      const { digest } = await indexWithPlatforms(reg);
      await pushLegacySignatures(seeder, repo, digest, [
        await rig.instance.signLegacy({ digest, identity: ACME }),
      ]);
      const { finding } = await runCheck(reg, ['all']);
      expect(finding.code, finding.message).toBe('OK');
    });

    it('accepts signatures on every checked platform manifest and leaves the attestations in the image facts', async () => {
      const { reg, seeder } = memory();
      const { amd, arm } = await indexWithPlatforms(reg);
      for (const d of [amd, arm]) {
        await pushLegacySignatures(seeder, repo, d, [
          await rig.instance.signLegacy({ digest: d, identity: ACME }),
        ]);
      }
      await pushBundleFor(
        seeder,
        repo,
        amd,
        await rig.instance.signBundle({ digest: amd, identity: ACME, predicateType: SLSA }),
        SLSA,
      );
      const { finding, facts } = await runCheck(reg, ['all']);
      expect(finding.code, finding.message).toBe('OK');
      // The base check asks with a verifier compiled from the same section at the same place.
      const verifier = compileSignatureVerifier(keyless(), imageSignatureWhere('multi'), {
        trustedRoots: rig.roots,
      });
      const calls = vi.spyOn(verifier, 'verify');
      const atts = await facts.attestations(verifier, ['all']);
      expect(calls).not.toHaveBeenCalled();
      expect(atts.map((a) => [a.digest, a.predicateType, a.authority])).toEqual([[amd, SLSA, 'ci']]);
    });

    it('denies when a checked platform is unsigned', async () => {
      const { reg, seeder } = memory();
      const { amd } = await indexWithPlatforms(reg);
      await pushLegacySignatures(seeder, repo, amd, [
        await rig.instance.signLegacy({ digest: amd, identity: ACME }),
      ]);
      expect((await runCheck(reg, ['linux/amd64'])).finding.code).toBe('OK');
      const { finding } = await runCheck(reg, ['all']);
      expect(finding.passed).toBe(false);
      expect(finding.code).toBe('NO_SIGNATURES');
    });
  });
});
