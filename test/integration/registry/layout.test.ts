import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileSizeCheck } from '../../../src/checks/size.js';
import { createRegistry, type Registry } from '../../../src/registry/client.js';
import { createLayoutAccess, parseLayoutReference } from '../../../src/registry/layout.js';
import { parseReference } from '../../../src/registry/reference.js';
import type { RegistryAccess, ResolvedImage } from '../../../src/registry/types.js';
import { checkInput } from '../../helpers/check-input.js';
import { fixturePath, HAVE_FIXTURES } from '../../helpers/fixtures.js';
import { pushLayout } from '../../helpers/image-builder.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';

const run = promisify(execFile);
const signal = (): AbortSignal => AbortSignal.timeout(10_000);
const TESTREPO = fixturePath('oci-images', 'regclient-testrepo');
const APKO_BASE = fixturePath('oci-images', 'apko-base_image');
const APKO_TOP = fixturePath('oci-images', 'apko-top_image');

async function summary(resolved: ResolvedImage): Promise<Array<[string, string, number]>> {
  const platforms = await resolved.platforms(['all'], signal());
  return platforms.map((p) => [p.platform, p.configDigest, p.manifest.json.layers.length]);
}

async function openLayout(input: string): Promise<{ access: RegistryAccess; resolved: ResolvedImage }> {
  const { path, reference } = parseLayoutReference(input);
  const access = createLayoutAccess(path);
  return { access, resolved: await access.resolve(reference, signal()) };
}

describe.skipIf(!HAVE_FIXTURES)(
  'shared OCI layouts, pushed to a real registry and read as oci: references',
  () => {
    let reg: TestRegistry;
    let client: Registry;

    beforeAll(async () => {
      reg = await startRegistry();
      client = createRegistry({ registries: { [reg.host]: { insecure: true } } });
      for (const tag of ['v1', 'v3']) {
        await run('skopeo', [
          'copy',
          '--all',
          '--preserve-digests',
          '--quiet',
          '--dest-tls-verify=false',
          `oci:${TESTREPO}:${tag}`,
          `docker://${reg.host}/testrepo:${tag}`,
        ]);
      }
      // skopeo will not copy this artifact index unchanged; push it (and its artifacts) with the API
      const fallback = 'sha256-dfae8f425735a5e3a72e40d6609e03079995511d48157c74d54801ff4430491e';
      await pushLayout(reg.url, 'testrepo', TESTREPO, { tag: fallback, as: fallback });
      await pushLayout(reg.url, 'apko/base', APKO_BASE, { as: 'latest' });
      await pushLayout(reg.url, 'apko/top', APKO_TOP, { as: 'latest' });
    });
    afterAll(async () => {
      await client?.close();
      await reg?.stop();
    });

    describe('regclient testrepo (copied with skopeo)', () => {
      it('resolves v1 to the layout digest and skips the unknown/unknown builder entries', async () => {
        const remote = await client.access().resolve(parseReference(`${reg.host}/testrepo:v1`), signal());
        const local = await openLayout(`oci:${TESTREPO}:v1`);
        expect(remote.digest).toBe('sha256:7ceb9b6bcc274697d0c38be6214b50cec79d601bc61708747d3f6cb772f6c6fa');
        expect(local.resolved.digest).toBe(remote.digest);
        const platforms = await summary(remote);
        expect(platforms.length).toBeGreaterThan(1);
        expect(platforms.map(([p]) => p)).not.toContain('unknown/unknown');
        expect(await summary(local.resolved)).toEqual(platforms);
      });

      it('reads v3 by digest from the layout like from the registry', async () => {
        const digest = 'sha256:6fe828b32b9b4572f32b16c1c0a4d675660b19ec207d010724309374252c2d6d';
        const remote = await client
          .access()
          .resolve(parseReference(`${reg.host}/testrepo@${digest}`), signal());
        const local = await openLayout(`oci:${TESTREPO}@${digest}`);
        expect(remote.manifest.json.annotations?.['org.opencontainers.image.base.name']).toBe(
          'registry.example.org/testrepo:b3',
        );
        expect(await summary(local.resolved)).toEqual(await summary(remote));
      });

      it('finds referrers through the sha256-<hex> tag, in the registry and in the layout', async () => {
        const subject = 'sha256:dfae8f425735a5e3a72e40d6609e03079995511d48157c74d54801ff4430491e';
        const remote = await client
          .access()
          .getReferrers(parseReference(`${reg.host}/testrepo:v2`), subject, undefined, signal());
        expect(remote.length).toBeGreaterThan(0);
        const local = await createLayoutAccess(TESTREPO).getReferrers(
          parseLayoutReference(`oci:${TESTREPO}`).reference,
          subject,
          undefined,
          signal(),
        );
        expect(local.map((d) => d.digest).sort()).toEqual(
          expect.arrayContaining(remote.map((d) => d.digest).sort()),
        );
      });
    });

    describe('apko images (index.json is the image)', () => {
      it('resolves the layout and the pushed image to the same platforms and configs', async () => {
        const remote = await client
          .access()
          .resolve(parseReference(`${reg.host}/apko/base:latest`), signal());
        const local = await openLayout(`oci:${APKO_BASE}`);
        expect(local.resolved.digest).toBe(remote.digest);
        expect((await summary(remote)).map(([p]) => p)).toEqual(['linux/amd64', 'linux/arm64']);
        expect(await summary(local.resolved)).toEqual(await summary(remote));
      });

      it('shares the base layer between base and top image', async () => {
        const [base] = await (
          await client.access().resolve(parseReference(`${reg.host}/apko/base:latest`), signal())
        ).platforms(['linux/amd64'], signal());
        const [top] = await (
          await client.access().resolve(parseReference(`${reg.host}/apko/top:latest`), signal())
        ).platforms(['linux/amd64'], signal());
        expect(top?.manifest.json.layers[0]?.digest).toBe(base?.manifest.json.layers[0]?.digest);
      });

      it('runs the size check on an oci: layout', async () => {
        const { access, resolved } = await openLayout(`oci:${APKO_BASE}`);
        const finding = await compileSizeCheck({ maxCompressed: 1, maxLayers: 1 }, 'ci').run(
          checkInput({
            reference: resolved.reference,
            resolved,
            registry: access,
            platforms: ['all'],
            signal: signal(),
          }),
        );
        expect(finding).toMatchObject({ passed: false, code: 'SIZE_EXCEEDED' });
        expect(finding.message).toMatch(
          /^linux\/amd64: .* over the 1 B limit of policy ci; heaviest: layer 1 /,
        );
      });
    });

    describe('when a layout blob was tampered with', () => {
      it('fails with DIGEST_MISMATCH', async () => {
        const dir = await mkdtemp(join(tmpdir(), 'imagegate-layout-'));
        try {
          await cp(APKO_BASE, dir, { recursive: true });
          const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as {
            manifests: Array<{ digest: string }>;
          };
          const file = join(dir, 'blobs', 'sha256', index.manifests[0]!.digest.slice(7));
          const text = await readFile(file, 'utf8');
          await writeFile(file, text.replace('"schemaVersion":2', '"schemaVersion": 2'));
          const { resolved } = await openLayout(`oci:${dir}`);
          await expect(resolved.platforms(['linux/amd64'], signal())).rejects.toThrowWithCode(
            'DIGEST_MISMATCH',
          );
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      });
    });
  },
);
