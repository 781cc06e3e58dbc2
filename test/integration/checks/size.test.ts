import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckInput } from '../../../src/checks/check.js';
import { compileSizeCheck } from '../../../src/checks/size.js';
import { createRegistry, type Registry } from '../../../src/registry/client.js';
import { parseReference } from '../../../src/registry/reference.js';
import { buildImage, buildIndex, pushImage, pushIndex } from '../../helpers/image-builder.js';
import { checkInput } from '../../helpers/check-input.js';
import { useRegistry } from '../../helpers/use-registry.js';

const KiB = 1024;

describe('size check against a real registry', () => {
  const reg = useRegistry();
  let client: Registry;

  async function input(image: string, platforms: readonly string[] = ['linux/amd64']): Promise<CheckInput> {
    const access = client.access();
    const signal = AbortSignal.timeout(5_000);
    const reference = parseReference(`${reg.host}/${image}`);
    return checkInput({
      reference,
      resolved: await access.resolve(reference, signal),
      registry: access,
      platforms,
      signal,
    });
  }

  beforeAll(async () => {
    client = createRegistry({ registries: { [reg.host]: { insecure: true } } });
    const app = buildImage({
      steps: [
        { createdBy: 'ADD alpine-minirootfs.tar.gz /', randomBytes: 20 * KiB },
        { createdBy: 'ENV NODE_ENV=production' },
        { createdBy: 'WORKDIR /app' },
        { createdBy: 'COPY package.json /app/', files: { 'app/package.json': '{}' } },
        { createdBy: 'RUN /bin/sh -c npm install # buildkit', randomBytes: 200 * KiB },
        { createdBy: 'COPY . /app', randomBytes: 40 * KiB },
        { createdBy: 'CMD ["node", "server.js"]' },
      ],
    });
    await pushImage(reg.url, 'app', '1', app);
    const amd = buildImage({
      platform: 'linux/amd64',
      steps: [{ createdBy: 'ADD rootfs /', randomBytes: 10 * KiB }],
    });
    const arm = buildImage({
      platform: 'linux/arm64',
      steps: [
        { createdBy: 'ADD rootfs /', randomBytes: 10 * KiB },
        { createdBy: '/bin/sh -c apt-get install -y build-essential', randomBytes: 300 * KiB },
      ],
    });
    await pushIndex(reg.url, 'multi', '1', buildIndex([amd, arm], { attestation: true }));
    const many = buildImage({
      format: 'docker',
      steps: Array.from({ length: 6 }, (_, i) => ({
        createdBy: `RUN step ${i}`,
        files: { [`f${i}`]: String(i) },
      })),
    });
    await pushImage(reg.url, 'many', '1', many);
  });
  afterAll(async () => {
    await client?.close();
  });

  describe('when the image is under the limit', () => {
    it('passes with the measured size', async () => {
      const finding = await compileSizeCheck({ maxCompressed: '1Mi', maxLayers: 10 }, 'p').run(
        await input('app:1'),
      );
      expect(finding).toMatchObject({ check: 'size', passed: true, code: 'OK' });
      expect(finding.message).toMatch(
        /^linux\/amd64: 2\d\d KiB compressed in 4 layers \(within maxCompressed 1 MiB, maxLayers 10\)$/,
      );
    });
  });

  describe('when the image is over the limit', () => {
    it('denies with actual vs limit and the three heaviest layers with their build steps', async () => {
      const finding = await compileSizeCheck({ maxCompressed: '100Ki' }, 'small').run(await input('app:1'));
      expect(finding).toMatchObject({ passed: false, code: 'SIZE_EXCEEDED' });
      expect(finding.message).toMatch(
        /^linux\/amd64: 2\d\d KiB compressed, over the 100 KiB limit of policy small; heaviest: layer 3 \(2\d\d KiB compressed\): RUN npm install — consider a multi-stage build; layer 4 \(40\.\d KiB compressed\): COPY \. \/app; layer 1 \(20\.\d KiB compressed\): ADD alpine-minirootfs\.tar\.gz \/$/,
      );
      expect(finding.details).toMatchObject({ maxCompressedBytes: 100 * KiB });
    });
  });

  describe('when one platform of a multi-arch image is heavy', () => {
    it('passes the default linux/amd64 and fails with all, naming the heavy platform', async () => {
      const check = compileSizeCheck({ maxCompressed: '100Ki' }, 'p');
      expect((await check.run(await input('multi:1'))).passed).toBe(true);
      const all = await check.run(await input('multi:1', ['all']));
      expect(all).toMatchObject({ passed: false, code: 'SIZE_EXCEEDED' });
      expect(all.message).toMatch(/^linux\/arm64: 3\d\d KiB compressed, over the 100 KiB limit/);
      expect(all.message).toContain('RUN apt-get install -y build-essential — consider a multi-stage build');
      expect(all.message).not.toContain('unknown');
      expect((all.details?.platforms as unknown[]).length).toBe(2);
    });
  });

  describe('when there are too many layers', () => {
    it('denies with TOO_MANY_LAYERS', async () => {
      const finding = await compileSizeCheck({ maxLayers: 5 }, 'flat').run(await input('many:1'));
      expect(finding).toMatchObject({
        passed: false,
        code: 'TOO_MANY_LAYERS',
        message: 'linux/amd64: 6 layers, over the limit of 5 of policy flat',
      });
    });
  });

  describe('when the policy has a bad quantity', () => {
    it('fails at compile time with POLICY_INVALID', () => {
      expect(() => compileSizeCheck({ maxCompressed: '10MB' }, 'p')).toThrow(/policy p: size\.maxCompressed/);
    });
  });
});
