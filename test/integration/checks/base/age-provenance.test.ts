/** The base check's maxAge (signing times from Rekor, old roots, keys) and signed SLSA provenance. */
import { beforeAll, describe, expect, it } from 'vitest';
import { pushBundleReferrer, pushLegacySignatures } from '../../../helpers/cosign-push.js';
import { buildImage, pushBlob, pushImage, pushManifest, sha256 } from '../../../helpers/image-builder.js';
import type { TestRegistry } from '../../../helpers/registry.js';
import type { RegistrySeeder } from '../../../helpers/registry-seeder.js';
import { keyPair, type TestInstance, simpleSigningPayload } from '../../../helpers/test-sigstore.js';
import {
  APP,
  APP_STEP,
  BASE_STEP,
  CHAINGUARD,
  SLSA_V02,
  SLSA_V1,
  keyless,
  madeImages,
  useBaseRig,
} from '../../../helpers/base-rig.js';

describe('base check through a real registry', () => {
  let registry: TestRegistry;
  let seeder: RegistrySeeder;
  let corp: TestInstance;
  let old: TestInstance;
  let host: string;
  const rig = useBaseRig();
  const { signKeyless, decide } = rig;
  beforeAll(() => {
    ({ registry, seeder, corp, old, host } = rig.current());
  });

  describe('images the tests build', () => {
    let baseDigest: string;

    beforeAll(async () => {
      baseDigest = (await rig.pushSignedBase()).manifest.digest;
      await app('derived', [BASE_STEP, APP_STEP], claim(`${host}/base/node:latest`, baseDigest));
    });

    const { allowed, policy, app, claim } = madeImages(rig);

    describe('maxAge', () => {
      it('passes a base signed now within maxAge, reporting the Rekor time', async () => {
        const { base: f } = await decide(
          policy({ allowed: [allowed()], maxAge: '30d' }),
          `${host}/made/app:derived`,
        );
        expect(f.code, f.message).toBe('OK');
        expect(f.message).toMatch(
          /signed \d{4}-\d\d-\d\dT[\d:.]+Z \(0d 0h ago|signed .* \(0h \d+m ago, within 30d\)/,
        );
      });

      it('fails a base whose signature is older than maxAge', async () => {
        const stale = buildImage({
          steps: [{ createdBy: 'apko', files: { 'etc/os-release': 'ID=stale\n' } }],
        });
        await pushImage(registry.url, 'base/stale', 'latest', stale);
        await signKeyless('base/stale', stale.manifest.digest, CHAINGUARD, old);
        await app(
          'on-stale',
          [{ createdBy: 'apko', files: { 'etc/os-release': 'ID=stale\n' } }, APP_STEP],
          claim(`${host}/base/stale:latest`, stale.manifest.digest),
        );
        const doc = policy({
          allowed: [{ image: `${host}/base/**`, signature: { authorities: [keyless(CHAINGUARD, 'old')] } }],
          maxAge: '30d',
        });
        const { base: f } = await decide(doc, `${host}/made/app:on-stale`);
        expect(f.code, f.message).toBe('BASE_TOO_OLD');
        expect(f.message).toMatch(/ \((89|90)d \d+h ago\), older than maxAge 30d/);
      });

      it('fails with BASE_AGE_UNKNOWN when the base has only a key signature without a time', async () => {
        const k = keyPair('ec-p256');
        const keyed = buildImage({
          steps: [{ createdBy: 'apko', files: { 'etc/os-release': 'ID=keyed\n' } }],
        });
        await pushImage(registry.url, 'base/keyed', 'latest', keyed);
        const payload = simpleSigningPayload(`${host}/base/keyed`, keyed.manifest.digest);
        await pushLegacySignatures(seeder, 'base/keyed', keyed.manifest.digest, [
          {
            payload,
            annotations: { 'dev.cosignproject.cosign/signature': k.sign(payload).toString('base64') },
          },
        ]);
        await app(
          'on-keyed',
          [{ createdBy: 'apko', files: { 'etc/os-release': 'ID=keyed\n' } }, APP_STEP],
          claim(`${host}/base/keyed:latest`, keyed.manifest.digest),
        );
        const spec = (maxAge?: string) =>
          policy({
            allowed: [
              {
                image: `${host}/base/**`,
                signature: { authorities: [{ name: 'k', key: { pem: k.publicPem, trustedRoot: 'corp' } }] },
              },
            ],
            ...(maxAge !== undefined ? { maxAge } : {}),
          });
        expect((await decide(spec(), `${host}/made/app:on-keyed`)).base.code).toBe('OK');
        const { base: f } = await decide(spec('30d'), `${host}/made/app:on-keyed`);
        expect(f.code).toBe('BASE_AGE_UNKNOWN');
        expect(f.message).toContain('cannot be proven');
      });
    });

    describe('provenance', () => {
      const appPolicy = () =>
        policy({ allowed: [allowed()] }, { signature: { authorities: [keyless(APP, 'corp', 'ci')] } });

      it('passes with a signed SLSA v1 attestation naming the base in resolvedDependencies', async () => {
        const img = await app('slsa', [BASE_STEP, APP_STEP]);
        const digest = img.manifest.digest;
        await signKeyless('made/app', digest, APP);
        const bundle = await corp.signBundle({
          digest,
          identity: APP,
          predicateType: SLSA_V1,
          predicate: {
            buildDefinition: {
              buildType: 'https://actions.github.io/buildtypes/workflow/v1',
              resolvedDependencies: [
                {
                  uri: 'git+https://github.com/acme/app@refs/heads/main',
                  digest: { gitCommit: 'a'.repeat(40) },
                },
                { uri: 'pkg:docker/golang@1.22?platform=linux%2Famd64', digest: { sha256: 'f'.repeat(64) } },
                {
                  uri: `pkg:docker/${host}/base/node@latest?platform=linux%2Famd64`,
                  digest: { sha256: baseDigest.slice(7) },
                },
              ],
            },
            runDetails: { builder: { id: 'https://github.com/actions/runner' } },
          },
        });
        await pushBundleReferrer(
          seeder,
          'made/app',
          { digest, mediaType: img.manifest.mediaType, size: img.manifest.size },
          bundle,
          SLSA_V1,
        );
        const { base: f, verdict, findings } = await decide(appPolicy(), `${host}/made/app:slsa`);
        expect(f.code, f.message).toBe('OK');
        expect(f.message).toContain('SLSA provenance (provenance/v1) signed by "ci"');
        expect(findings.find((x) => x.check === 'signature')?.code).toBe('OK');
        expect(verdict.allowed).toBe(true);
      });

      async function buildkitIndex(tag: string, sign: boolean): Promise<string> {
        // A platform image of its own (no signature or attestation of another test applies to it).
        const img = buildImage({ steps: [BASE_STEP, APP_STEP, { createdBy: tag, files: { tag } }] });
        await pushImage(registry.url, 'made/app', img.manifest.digest, img);
        const statement = Buffer.from(
          JSON.stringify({
            _type: 'https://in-toto.io/Statement/v0.1',
            predicateType: SLSA_V02,
            subject: [
              {
                name: `pkg:docker/${host}/made/app@${tag}?platform=linux%2Famd64`,
                digest: { sha256: img.manifest.digest.slice(7) },
              },
            ],
            predicate: {
              builder: { id: '' },
              buildType: 'https://mobyproject.org/buildkit@v1',
              materials: [
                {
                  uri: `pkg:docker/${host}/base/node@latest?platform=linux%2Famd64`,
                  digest: { sha256: baseDigest.slice(7) },
                },
              ],
            },
          }),
        );
        const config = Buffer.from(
          '{"architecture":"unknown","os":"unknown","config":{},"rootfs":{"type":"layers","diff_ids":[]}}',
        );
        const layer = {
          mediaType: 'application/vnd.in-toto+json',
          digest: sha256(statement),
          size: statement.byteLength,
          bytes: statement,
        };
        await pushBlob(registry.url, 'made/app', layer);
        await pushBlob(registry.url, 'made/app', {
          mediaType: 'application/vnd.oci.image.config.v1+json',
          digest: sha256(config),
          size: config.byteLength,
          bytes: config,
        });
        const att = Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            config: {
              mediaType: 'application/vnd.oci.image.config.v1+json',
              digest: sha256(config),
              size: config.byteLength,
            },
            layers: [
              {
                mediaType: layer.mediaType,
                digest: layer.digest,
                size: layer.size,
                annotations: { 'in-toto.io/predicate-type': SLSA_V02 },
              },
            ],
          }),
        );
        await pushManifest(registry.url, 'made/app', sha256(att), {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: sha256(att),
          size: att.byteLength,
          bytes: att,
        });
        const index = Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: 'application/vnd.oci.image.index.v1+json',
            manifests: [
              {
                mediaType: img.manifest.mediaType,
                digest: img.manifest.digest,
                size: img.manifest.size,
                platform: { os: 'linux', architecture: 'amd64' },
              },
              {
                mediaType: 'application/vnd.oci.image.manifest.v1+json',
                digest: sha256(att),
                size: att.byteLength,
                platform: { os: 'unknown', architecture: 'unknown' },
                annotations: {
                  'vnd.docker.reference.type': 'attestation-manifest',
                  'vnd.docker.reference.digest': img.manifest.digest,
                },
              },
            ],
          }),
        );
        await pushManifest(registry.url, 'made/app', tag, {
          mediaType: 'application/vnd.oci.image.index.v1+json',
          digest: sha256(index),
          size: index.byteLength,
          bytes: index,
        });
        if (sign) await signKeyless('made/app', sha256(index), APP);
        return sha256(index);
      }

      it('passes with BuildKit provenance in the index when the index signature verified, and says so', async () => {
        await buildkitIndex('buildkit-signed', true);
        const { base: f } = await decide(appPolicy(), `${host}/made/app:buildkit-signed`);
        expect(f.code, f.message).toBe('OK');
        expect(f.message).toContain(
          'BuildKit provenance in the index (unsigned itself; trusted because the index signature verified)',
        );
      });

      it('ignores BuildKit provenance when the index is not signed', async () => {
        await buildkitIndex('buildkit-unsigned', false);
        const { base: f } = await decide(appPolicy(), `${host}/made/app:buildkit-unsigned`);
        expect(f.code).toBe('BASE_NOT_CLAIMED');
        expect(f.message).toContain(
          'BuildKit provenance in the index ignored: no signature over the index digest verified',
        );
      });
    });
  });
});
