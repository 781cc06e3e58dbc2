import { describe, expect, it } from 'vitest';
import { createRegistry } from '../../../src/registry/client.js';
import { parseReference } from '../../../src/registry/reference.js';
import { MAX_CONFIG_BYTES } from '../../../src/registry/media-types.js';
import { buildImage, buildIndex, pushImage, pushIndex, pushManifest } from '../../helpers/image-builder.js';
import { useRegistry } from '../../helpers/use-registry.js';
import { useSuiteValue } from '../../helpers/suite-value.js';

const signal = (): AbortSignal => AbortSignal.timeout(10_000);

describe('registry client against a real registry', () => {
  const reg = useRegistry();

  const world = useSuiteValue(
    async () => {
      const client = createRegistry({ registries: { [reg.host]: { insecure: true } } });
      const oci = buildImage({
        steps: [
          { createdBy: 'ADD rootfs /', files: { 'etc/os-release': 'ID=test\n' } },
          { createdBy: 'CMD ["sh"]' },
        ],
      });
      const docker = buildImage({
        format: 'docker',
        steps: [{ createdBy: 'COPY app /app', files: { app: 'hello' } }],
      });
      await pushImage(reg.url, 'team/oci', 'v1', oci);
      await pushImage(reg.url, 'team/docker', 'v1', docker);
      const amd = buildImage({
        platform: 'linux/amd64',
        steps: [{ createdBy: 'ADD a /', files: { a: 'amd' } }],
      });
      const arm = buildImage({
        platform: 'linux/arm64/v8',
        steps: [{ createdBy: 'ADD a /', files: { a: 'arm' } }],
      });
      await pushIndex(reg.url, 'team/multi', 'v1', buildIndex([amd, arm], { attestation: true }));
      return { client, oci, docker };
    },
    ({ client }) => client.close(),
  );

  describe('resolve', () => {
    it('resolves an OCI image by tag to its verified digest and config', async () => {
      const access = world.client.access();
      const resolved = await access.resolve(parseReference(`${reg.host}/team/oci:v1`), signal());
      expect(resolved.digest).toBe(world.oci.manifest.digest);
      expect(resolved.manifest.kind).toBe('image');
      expect(resolved.manifest.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
      const [p] = await resolved.platforms(['linux/amd64'], signal());
      expect(p?.configDigest).toBe(world.oci.config.digest);
      expect(p?.config.history?.map((h) => h.created_by)).toEqual(['ADD rootfs /', 'CMD ["sh"]']);
    });

    it('resolves a Docker v2 image by digest', async () => {
      const resolved = await world.client
        .access()
        .resolve(parseReference(`${reg.host}/team/docker@${world.docker.manifest.digest}`), signal());
      expect(resolved.manifest.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
      expect(resolved.digest).toBe(world.docker.manifest.digest);
    });

    it('returns the same ResolvedImage for the same reference within one access', async () => {
      const access = world.client.access();
      const ref = parseReference(`${reg.host}/team/oci:v1`);
      expect(await access.resolve(ref, signal())).toBe(await access.resolve(ref, signal()));
    });

    it('fails with MANIFEST_UNKNOWN for a missing tag', async () => {
      await expect(
        world.client.access().resolve(parseReference(`${reg.host}/team/oci:nope`), signal()),
      ).rejects.toThrowWithCode('MANIFEST_UNKNOWN', { indeterminate: false });
    });
  });

  describe('multi-arch', () => {
    it('checks linux/amd64 by default and skips attestation entries with all', async () => {
      const resolved = await world.client
        .access()
        .resolve(parseReference(`${reg.host}/team/multi:v1`), signal());
      expect(resolved.manifest.kind).toBe('index');
      expect((await resolved.platforms(['linux/amd64'], signal())).map((p) => p.platform)).toEqual([
        'linux/amd64',
      ]);
      expect((await resolved.platforms(['all'], signal())).map((p) => p.platform)).toEqual([
        'linux/amd64',
        'linux/arm64/v8',
      ]);
      expect((await resolved.platforms(['linux/arm64'], signal())).map((p) => p.platform)).toEqual([
        'linux/arm64/v8',
      ]);
    });

    it('fails with PLATFORM_NOT_FOUND (definitive) for a platform the index lacks', async () => {
      const resolved = await world.client
        .access()
        .resolve(parseReference(`${reg.host}/team/multi:v1`), signal());
      await expect(resolved.platforms(['linux/s390x'], signal())).rejects.toThrowWithCode(
        'PLATFORM_NOT_FOUND',
        { indeterminate: false },
      );
    });
  });

  describe('blobs', () => {
    it('refuses a blob whose descriptor is over the cap before fetching it', async () => {
      const ref = parseReference(`${reg.host}/team/oci:v1`);
      await expect(
        world.client
          .access()
          .getBlob(ref, { ...world.oci.config, size: MAX_CONFIG_BYTES + 1 }, MAX_CONFIG_BYTES, signal()),
      ).rejects.toThrowWithCode('RESPONSE_TOO_LARGE');
    });
  });

  describe('referrers', () => {
    it('falls back to the sha256-<hex> tag when the registry has no referrers API', async () => {
      const artifact = buildImage({ steps: [{ createdBy: 'sig', files: { sig: 'x' } }] });
      await pushImage(reg.url, 'team/oci', artifact.manifest.digest, artifact);
      const fallback = {
        mediaType: 'application/vnd.oci.image.index.v1+json',
        digest: '',
        size: 0,
        bytes: Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: 'application/vnd.oci.image.index.v1+json',
            manifests: [
              {
                mediaType: artifact.manifest.mediaType,
                digest: artifact.manifest.digest,
                size: artifact.manifest.size,
                artifactType: 'application/vnd.example.sig',
              },
            ],
          }),
        ),
      };
      await pushManifest(reg.url, 'team/oci', world.oci.manifest.digest.replace(':', '-'), fallback);
      const ref = parseReference(`${reg.host}/team/oci:v1`);
      const all = await world.client
        .access()
        .getReferrers(ref, world.oci.manifest.digest, undefined, signal());
      expect(all.map((d) => d.digest)).toEqual([artifact.manifest.digest]);
      expect(
        await world.client
          .access()
          .getReferrers(ref, world.oci.manifest.digest, 'application/other', signal()),
      ).toEqual([]);
      expect(
        await world.client.access().getReferrers(ref, world.docker.manifest.digest, undefined, signal()),
      ).toEqual([]);
    });
  });
});
