/**
 * Signatures made by the tests: keys generated here, keyless from a private test Sigstore instance
 * whose trusted_root.json is loaded like a user's (`--trusted-root test=FILE`), both storage
 * formats, tampering, multi-arch, attestations in the image facts, and trusted-root availability.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { COSIGN_SIGN_PREDICATE } from '../../../../src/checks/signature/signed-payload.js';
import {
  compileSignatureCheck,
  compileSignatureVerifier,
  imageSignatureWhere,
  loadTrustedRoots,
  parseTrustedRootFlag,
  type TrustedRootStore,
} from '../../../../src/checks/signature/index.js';
import { ImagegateError } from '../../../../src/errors.js';
import type { SignatureSpec } from '../../../../src/policy/policy.schema.js';
import { parseReference } from '../../../../src/registry/reference.js';
import { checkInput } from '../../../helpers/check-input.js';
import { pushBundleReferrer, pushLegacySignatures } from '../../../helpers/cosign-push.js';
import { HAVE_FIXTURES, fixturePath } from '../../../helpers/fixtures.js';
import type { Seeder } from '../../../helpers/legacy-cases.js';
import { MemoryRegistry, sha256 } from '../../../helpers/memory-registry.js';
import { signal, tempDir } from '../../../helpers/signature-setup.js';
import {
  ACME,
  createTestInstance,
  EVIL,
  keyPair,
  type Identity,
  type TestInstance,
} from '../../../helpers/test-sigstore.js';

const SLSA = 'https://slsa.dev/provenance/v1';

const keyless = (
  extra: Partial<SignatureSpec> = {},
  id: { subject?: string; subjectRegExp?: string } = {},
): SignatureSpec => ({
  authorities: [
    {
      name: 'ci',
      keyless: {
        issuer: ACME.issuer,
        ...(id.subjectRegExp !== undefined
          ? { subjectRegExp: id.subjectRegExp }
          : { subject: id.subject ?? ACME.subject }),
        trustedRoot: 'test',
      },
    },
  ],
  ...extra,
});

function memory(): { reg: MemoryRegistry; seeder: Seeder } {
  const reg = new MemoryRegistry();
  return {
    reg,
    seeder: {
      putBlob: async (_r, b) => void reg.putBlob(b),
      putManifest: async (repo, b, tag) => reg.putManifest(repo, b, tag),
    },
  };
}

let imageCounter = 0;
function imageManifest(): Buffer {
  imageCounter += 1;
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: sha256(`cfg${imageCounter}`),
        size: 4,
      },
      layers: [],
    }),
  );
}

describe('signatures made by the tests', () => {
  let instance: TestInstance;
  let roots: TrustedRootStore;
  const repo = 'registry.imagegate.test/app';

  beforeAll(async () => {
    const dir = tempDir();
    instance = await createTestInstance(dir);
    roots = await loadTrustedRoots({
      files: [parseTrustedRootFlag(`test=${instance.trustedRootPath}`)],
      offline: true,
    });
  });

  async function verify(spec: SignatureSpec, setup: (s: Seeder, digest: string) => Promise<void>) {
    const { reg, seeder } = memory();
    const digest = reg.putManifest(repo, imageManifest());
    await setup(seeder, digest);
    const v = compileSignatureVerifier(spec, 'test', { trustedRoots: roots });
    return v.verify(reg, parseReference(`${repo}@${digest}`), digest, signal());
  }

  describe('when keyless-signed in the legacy format', () => {
    it('passes with the matching identity, Rekor SET and SCT', async () => {
      const verdict = await verify(keyless(), async (s, d) => {
        await pushLegacySignatures(s, repo, d, [await instance.signLegacy({ digest: d, identity: ACME })]);
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
          await instance.signLegacy({ digest: d, identity: EVIL }),
          await instance.signLegacy({ digest: d, identity: EVIL }),
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
            await instance.signLegacy({ digest: d, identity: longer }),
          ]);
        },
      );
      expect(verdict.code).toBe('IDENTITY_MISMATCH');
    });

    it('denies a payload naming another digest with DIGEST_MISMATCH', async () => {
      const verdict = await verify(keyless(), async (s, d) => {
        const other = sha256('another image');
        await pushLegacySignatures(s, repo, d, [
          await instance.signLegacy({ digest: d, identity: ACME, payloadDigest: other }),
        ]);
      });
      expect(verdict.code).toBe('DIGEST_MISMATCH');
    });

    it('denies a bit-flipped signature (the Rekor entry no longer matches) with TLOG_INVALID', async () => {
      const verdict = await verify(keyless(), async (s, d) => {
        const sig = await instance.signLegacy({ digest: d, identity: ACME });
        const raw = Buffer.from(sig.annotations['dev.cosignproject.cosign/signature']!, 'base64');
        raw[raw.length - 1]! ^= 0x01;
        sig.annotations['dev.cosignproject.cosign/signature'] = raw.toString('base64');
        await pushLegacySignatures(s, repo, d, [sig]);
      });
      expect(verdict.code).toBe('TLOG_INVALID');
    });

    it('denies a SET moved onto another body with TLOG_INVALID', async () => {
      const verdict = await verify(keyless(), async (s, d) => {
        const a = await instance.signLegacy({ digest: d, identity: ACME });
        const b = await instance.signLegacy({ digest: d, identity: ACME });
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
          await instance.signLegacy({ digest: d, identity: ACME, rekor: false }),
        ]);
      });
      expect(verdict.code).toBe('TLOG_MISSING');
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
    it('verifies the DSSE layer and exposes the statement as an attestation', async () => {
      const verdict = await verify(keyless(), async (s, d) => {
        const b = (await instance.signBundle({ digest: d, identity: ACME, predicateType: SLSA })) as {
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
                'dev.sigstore.cosign/chain': instance.rootPem,
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
      expect(verdict.attestations).toHaveLength(1);
      expect(verdict.attestations[0]).toMatchObject({
        format: 'cosign-legacy',
        predicateType: SLSA,
        authority: 'ci',
      });
    });
  });

  describe('when keyless-signed in the bundle format (OCI referrer)', () => {
    it('passes a cosign v3 signature bundle and keeps attestations apart', async () => {
      const verdict = await verify(keyless(), async (s, d) => {
        const sub = { digest: d, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 1 };
        await pushBundleReferrer(
          s,
          repo,
          sub,
          await instance.signBundle({ digest: d, identity: ACME, predicateType: COSIGN_SIGN_PREDICATE }),
        );
        await pushBundleReferrer(
          s,
          repo,
          sub,
          await instance.signBundle({
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
        const sub = { digest: d, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 1 };
        await pushBundleReferrer(
          s,
          repo,
          sub,
          await instance.signBundle({ digest: d, identity: ACME, predicateType: SLSA }),
          SLSA,
        );
      });
      expect(verdict.passed).toBe(false);
      expect(verdict.attestations).toHaveLength(1);
    });

    it('denies a bundle with a bad inclusion proof with TLOG_INVALID', async () => {
      const verdict = await verify(keyless(), async (s, d) => {
        const b = (await instance.signBundle({
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
        await pushBundleReferrer(
          s,
          repo,
          { digest: d, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 1 },
          b,
        );
      });
      expect(verdict.code).toBe('TLOG_INVALID');
    });

    it('denies a bundle whose statement names another digest with DIGEST_MISMATCH', async () => {
      const verdict = await verify(keyless(), async (s, d) => {
        const b = await instance.signBundle({
          digest: sha256('other'),
          identity: ACME,
          predicateType: COSIGN_SIGN_PREDICATE,
        });
        await pushBundleReferrer(
          s,
          repo,
          { digest: d, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 1 },
          b,
        );
      });
      expect(verdict.code).toBe('DIGEST_MISMATCH');
    });
  });

  describe('when key-signed', () => {
    const payloadFor = (digest: string) =>
      Buffer.from(
        JSON.stringify({
          critical: {
            identity: { 'docker-reference': repo },
            image: { 'docker-manifest-digest': digest },
            type: 'cosign container image signature',
          },
          optional: null,
        }),
      );

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
        { trustedRoots: roots, secrets },
      );
      expect((await ok.verify(reg, parseReference(`${repo}@${digest}`), digest, signal())).code).toBe('OK');
      const missing = compileSignatureVerifier(
        { authorities: [{ key: { secretRef: { name: 'absent', key: 'cosign.pub' } } }] },
        'test',
        { trustedRoots: roots, secrets },
      );
      await expect(
        missing.verify(reg, parseReference(`${repo}@${digest}`), digest, signal()),
      ).rejects.toMatchObject({
        code: 'SECRET_UNAVAILABLE',
        indeterminate: true,
      });
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
      const check = compileSignatureCheck(keyless(), 'multi', { trustedRoots: roots });
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
        await instance.signLegacy({ digest, identity: ACME }),
      ]);
      const { finding } = await runCheck(reg, ['all']);
      expect(finding.code, finding.message).toBe('OK');
    });

    it('accepts signatures on every checked platform manifest and leaves the attestations in the image facts', async () => {
      const { reg, seeder } = memory();
      const { amd, arm } = await indexWithPlatforms(reg);
      for (const d of [amd, arm]) {
        await pushLegacySignatures(seeder, repo, d, [
          await instance.signLegacy({ digest: d, identity: ACME }),
        ]);
      }
      await pushBundleReferrer(
        seeder,
        repo,
        { digest: amd, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 1 },
        await instance.signBundle({ digest: amd, identity: ACME, predicateType: SLSA }),
        SLSA,
      );
      const { finding, facts } = await runCheck(reg, ['all']);
      expect(finding.code, finding.message).toBe('OK');
      // The base check asks with a verifier compiled from the same section at the same place.
      const verifier = compileSignatureVerifier(keyless(), imageSignatureWhere('multi'), {
        trustedRoots: roots,
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
        await instance.signLegacy({ digest: amd, identity: ACME }),
      ]);
      expect((await runCheck(reg, ['linux/amd64'])).finding.code).toBe('OK');
      const { finding } = await runCheck(reg, ['all']);
      expect(finding.passed).toBe(false);
      expect(finding.code).toBe('NO_SIGNATURES');
    });
  });

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
        await instance.signLegacy({ digest, identity: ACME }),
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
    const manifest = readFileSync(
      fixturePath('sigstore-bundles', 'cosign', 'reconstructed-empty-image', 'manifest.json'),
    );
    const digest = reg.putManifest(repo, manifest);
    expect(digest).toBe('sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4');
    const bundle = JSON.parse(
      readFileSync(fixturePath('sigstore-bundles', 'cosign', 'oci-attestation.sigstore.json'), 'utf8'),
    );
    await pushBundleReferrer(
      seeder,
      repo,
      { digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: manifest.length },
      bundle,
    );
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
