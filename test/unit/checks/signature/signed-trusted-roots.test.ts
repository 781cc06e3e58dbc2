/** Trusted-root availability for signatures made by the tests, and the cosign OCI attestation bundle fixture. */
import { describe, expect, it } from 'vitest';
import {
  compileSignatureVerifier,
  loadTrustedRoots,
  parseTrustedRootFlag,
} from '../../../../src/checks/signature/index.js';
import { ImagegateError } from '../../../../src/errors.js';
import { parseReference } from '../../../../src/registry/reference.js';
import { pushCosignOciAttestation, pushLegacySignatures } from '../../../helpers/cosign-push.js';
import { HAVE_FIXTURES, fixturePath } from '../../../helpers/fixtures.js';
import { signal, tempDir } from '../../../helpers/signature-setup.js';
import { ACME, keyPair, keySignedLayer } from '../../../helpers/test-sigstore.js';
import { imageManifest, keyless, memory, useTestSigstore } from '../../../helpers/signed-here-rig.js';

describe('signatures made by the tests', () => {
  const rig = useTestSigstore();
  const { repo } = rig;

  describe('trusted roots', () => {
    it('marks public-good unavailable when TUF is unreachable, and checks needing it are indeterminate', async () => {
      const store = await loadTrustedRoots({ tuf: () => Promise.reject(new Error('getaddrinfo ENOTFOUND')) });
      expect(store.status()).toEqual([
        expect.objectContaining({
          name: 'public-good',
          available: false,
          reason: expect.stringContaining('ENOTFOUND'),
        }),
      ]);
      const { reg, seeder } = memory();
      const digest = reg.putManifest(repo, imageManifest());
      await pushLegacySignatures(seeder, repo, digest, [
        await rig.instance.signLegacy({ digest, identity: ACME }),
      ]);
      const v = compileSignatureVerifier({ authorities: [{ keyless: ACME }] }, 'test', {
        trustedRoots: store,
      });
      const err = await v
        .verify(reg, parseReference(`${repo}@${digest}`), digest, signal())
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ImagegateError);
      expect(err).toMatchObject({ code: 'TRUSTED_ROOT_UNAVAILABLE', indeterminate: true });
    });

    it('verifies a key signature without a required log while public-good is unavailable; with one, indeterminate', async () => {
      const store = await loadTrustedRoots({ tuf: () => Promise.reject(new Error('getaddrinfo ENOTFOUND')) });
      expect(store.ready('public-good')).toBeUndefined();
      const k = keyPair('ec-p256');
      const { reg, seeder } = memory();
      const digest = reg.putManifest(repo, imageManifest());
      const critical = {
        identity: { 'docker-reference': repo },
        image: { 'docker-manifest-digest': digest },
        type: 'cosign container image signature',
      };
      const payload = Buffer.from(JSON.stringify({ critical, optional: null }));
      await pushLegacySignatures(seeder, repo, digest, [keySignedLayer(k.sign, payload)]);
      const ref = parseReference(`${repo}@${digest}`);
      const authorities = [{ name: 'release', key: { pem: k.publicPem } }];
      const compile = (transparencyLog: 'optional' | 'required') =>
        compileSignatureVerifier({ authorities, transparencyLog }, 'test', { trustedRoots: store });
      const optional = await compile('optional').verify(reg, ref, digest, signal());
      expect(optional).toMatchObject({ passed: true, code: 'OK' });
      expect(optional.signatures[0]).toMatchObject({ authority: 'release', tlogEntries: 0 });
      const err = await compile('required')
        .verify(reg, ref, digest, signal())
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ImagegateError);
      expect(err).toMatchObject({ code: 'TRUSTED_ROOT_UNAVAILABLE', indeterminate: true });
    });

    it('rejects policies naming an unknown root and bad flags', async () => {
      expect(() =>
        compileSignatureVerifier(keyless(), 'p', { trustedRoots: { has: () => false } as never }),
      ).toThrow(/trusted root "test" is not configured/);
      expect(() => parseTrustedRootFlag('public-good')).toThrow(/NAME=FILE/);
      expect(parseTrustedRootFlag('corp=/etc/roots/corp.json')).toEqual({
        name: 'corp',
        path: '/etc/roots/corp.json',
      });
    });

    it('fails start-up on an invalid trusted root file', async () => {
      const dir = tempDir();
      const path = `${dir}/bad.json`;
      (await import('node:fs')).writeFileSync(
        path,
        '{"mediaType":"x","tlogs":[{"publicKey":{"rawBytes":"!!"}}]}',
      );
      await expect(loadTrustedRoots({ files: [{ name: 'bad', path }], offline: true })).rejects.toMatchObject(
        {
          code: 'TRUSTED_ROOT_INVALID',
        },
      );
    });
  });
});

describe.skipIf(!HAVE_FIXTURES)('the cosign OCI attestation bundle fixture', () => {
  it('verifies as an attestation referrer of the reconstructed empty image', async () => {
    const roots = await loadTrustedRoots({
      files: [
        {
          name: 'public-good',
          path: fixturePath('trust-roots', 'root-signing', 'targets', 'trusted_root.json'),
        },
      ],
      offline: true,
    });
    const { reg, seeder } = memory();
    const repo = '127.0.0.1:60943/repo';
    const digest = await pushCosignOciAttestation(seeder, repo);
    expect(digest).toBe('sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4');
    const v = compileSignatureVerifier(
      {
        authorities: [
          {
            name: 'cody',
            keyless: { issuer: 'https://github.com/login/oauth', subject: 'cody@soyland.com' },
          },
        ],
      },
      'test',
      { trustedRoots: roots },
    );
    const verdict = await v.verify(reg, parseReference(`${repo}@${digest}`), digest, signal());
    expect(verdict.attestations.map((a) => a.predicateType)).toEqual([
      'https://cosign.sigstore.dev/attestation/v1',
    ]);
    // An attestation is not an image signature.
    expect(verdict.passed).toBe(false);
  });
});
