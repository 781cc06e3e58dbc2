/**
 * The base check over published artifacts in a real registry: apko's base/top layouts and
 * regclient's testrepo (base.name and base.digest disagree).
 */
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { HAVE_FIXTURES, fixturePath } from '../../../helpers/fixtures.js';
import { pushLayout, pushManifest, sha256 } from '../../../helpers/image-builder.js';
import type { TestRegistry } from '../../../helpers/registry.js';
import { CHAINGUARD, EVIL, keyless, policyDoc, useBaseRig } from '../../../helpers/base-rig.js';

describe('base check through a real registry', () => {
  let registry: TestRegistry;
  let host: string;
  const rig = useBaseRig();
  const { signKeyless, decide, getIndex, putIndex } = rig;
  beforeAll(() => {
    ({ registry, host } = rig.current());
  });

  describe.skipIf(!HAVE_FIXTURES)('apko base_image and top_image (top built on base by apko)', () => {
    let baseDigest: string;
    let topIndex: { manifests: Array<Record<string, unknown>>; [k: string]: unknown };

    beforeAll(async () => {
      baseDigest = await pushLayout(
        registry.url,
        'chainguard/apko-base',
        fixturePath('oci-images', 'apko-base_image'),
        {
          as: 'latest',
        },
      );
      await signKeyless('chainguard/apko-base', baseDigest, CHAINGUARD);
      await pushLayout(registry.url, 'apps/apko-top', fixturePath('oci-images', 'apko-top_image'), {
        as: 'v1',
      });
      topIndex = JSON.parse(
        await readFile(fixturePath('oci-images', 'apko-top_image', 'index.json'), 'utf8'),
      );
    });

    const policy = (proof = 'layers') =>
      policyDoc('apko', {
        images: [{ glob: `${host}/apps/**` }],
        platforms: ['all'],
        base: {
          allowed: [
            {
              image: `${host}/chainguard/**`,
              signature: { authorities: [keyless(CHAINGUARD)] },
              candidates: [`${host}/chainguard/apko-base:latest`],
            },
          ],
          proof,
        },
      });

    /** The top index re-pushed under `tag` with changed entries or annotations. */
    async function variant(tag: string, change: (index: typeof topIndex) => void): Promise<string> {
      const copy = JSON.parse(JSON.stringify(topIndex)) as typeof topIndex;
      change(copy);
      const bytes = Buffer.from(JSON.stringify(copy));
      await pushManifest(registry.url, 'apps/apko-top', tag, {
        mediaType: 'application/vnd.oci.image.index.v1+json',
        digest: sha256(bytes),
        size: bytes.byteLength,
        bytes,
      });
      return sha256(bytes);
    }

    const annotate = (index: typeof topIndex) => {
      index.annotations = {
        ...(index.annotations as Record<string, string>),
        'org.opencontainers.image.base.name': `${host}/chainguard/apko-base:latest`,
        'org.opencontainers.image.base.digest': baseDigest,
      };
    };
    const swap = (index: typeof topIndex) => {
      const [a, b] = index.manifests;
      const pa = a!.platform;
      a!.platform = b!.platform;
      b!.platform = pa;
    };

    it('passes layers on every platform via the candidate (top has no base annotation)', async () => {
      const { base, verdict } = await decide(policy(), `${host}/apps/apko-top:v1`);
      expect(base.code, base.message).toBe('OK');
      expect(verdict.allowed).toBe(true);
      expect(base.details?.platforms).toEqual([
        expect.objectContaining({ platform: 'linux/amd64', reached: 'layers', passed: true }),
        expect.objectContaining({ platform: 'linux/arm64', reached: 'layers', passed: true }),
      ]);
      expect(base.message).toContain(`candidate ${host}/chainguard/apko-base:latest@${baseDigest}`);
      expect(base.message).toContain('diff_id (linux/amd64 manifest sha256:2ef91a9967f2');
    });

    it('passes layers on every platform from the index annotation, resolving the same platform of the base index', async () => {
      await variant('annotated', annotate);
      const { base } = await decide(policy(), `${host}/apps/apko-top:annotated`);
      expect(base.code, base.message).toBe('OK');
      expect(base.message).toContain('(annotation on the index)');
      expect(base.message).toContain('sha256:5a99438a9ced'); // base arm64 manifest
    });

    // Swapped index platforms disagree with the configs (the index says amd64 for the arm64
    // manifest): a node would run the arm64 image as amd64, so the index is refused before any
    // check can judge a platform it does not hold (issue 20, property 5).
    it('refuses an index whose platforms are swapped against the configs: PLATFORM_AMBIGUOUS', async () => {
      await variant('swapped', (i) => {
        annotate(i);
        swap(i);
      });
      const { base, verdict } = await decide(policy(), `${host}/apps/apko-top:swapped`);
      expect(verdict.allowed).toBe(false);
      expect(base.code).toBe('PLATFORM_AMBIGUOUS');
      expect(base.message).toMatch(/the index lists it as linux\/(amd64|arm64).* but its config says/);
    });

    it('refuses swapped platforms via the candidate too', async () => {
      await variant('swapped-unclaimed', swap);
      const { base, verdict } = await decide(policy(), `${host}/apps/apko-top:swapped-unclaimed`);
      expect(verdict.allowed).toBe(false);
      expect(base.code).toBe('PLATFORM_AMBIGUOUS');
    });

    it('at proof claim, an image without a claim is BASE_NOT_CLAIMED (candidates need the layer proof)', async () => {
      const { base } = await decide(policy('claim'), `${host}/apps/apko-top:v1`);
      expect(base.code).toBe('BASE_NOT_CLAIMED');
    });
  });

  describe.skipIf(!HAVE_FIXTURES)('regclient testrepo: v2/v3 name b2/b3 but base.digest is b1', () => {
    const digests: Record<string, string> = {};

    beforeAll(async () => {
      const layout = fixturePath('oci-images', 'regclient-testrepo');
      for (const tag of ['b1', 'b2', 'b3', 'v2', 'v3']) {
        digests[tag] = await pushLayout(registry.url, 'testrepo', layout, { tag, as: tag });
      }
      // b1 is signed by the trusted identity; b2 and b3 only by another one.
      await signKeyless('testrepo', digests.b1!, CHAINGUARD);
      await signKeyless('testrepo', digests.b2!, EVIL);
      await signKeyless('testrepo', digests.b3!, EVIL);
      // The annotations name registry.example.org, which does not exist here: for the levels that
      // contact the registry, v2 and v3 are re-pushed with only the host of base.name changed to the
      // loopback registry (tags b2/b3 and base.digest = b1 kept, so the disagreement is intact).
      for (const tag of ['v2', 'v3']) {
        const index = await getIndex('testrepo', tag);
        const annotations = index.annotations!;
        annotations['org.opencontainers.image.base.name'] = annotations[
          'org.opencontainers.image.base.name'
        ]!.replace('registry.example.org', host);
        await putIndex('testrepo', `${tag}-here`, index);
      }
    });

    const policy = (proof: string, identity = CHAINGUARD, repo = `${host}/testrepo`) =>
      policyDoc('testrepo', {
        images: [{ glob: `${host}/testrepo` }],
        platforms: ['all'],
        base: {
          allowed: [{ image: repo, signature: { authorities: [keyless(identity)] } }],
          proof,
        },
      });

    it('claim: passes v2 as published on the name alone (registry.example.org is never contacted) and reports the named tag with the digest', async () => {
      const { base } = await decide(
        policy('claim', CHAINGUARD, 'registry.example.org/testrepo'),
        `${host}/testrepo:v2`,
      );
      expect(base.code, base.message).toBe('OK');
      expect(base.message).toContain(`registry.example.org/testrepo:b2@${digests.b1}`);
      expect(base.message).toContain('the name is not verified (audit and inventory only)');
    });

    it('signed: verifies the claimed digest (b1), not the tag, and notes that the tag points elsewhere', async () => {
      const { base } = await decide(policy('signed'), `${host}/testrepo:v2-here`);
      expect(base.code, base.message).toBe('OK');
      expect(base.message).toContain(`note: tag b2 now points at ${digests.b2}, not the claimed digest`);
    });

    it('signed: a signature on the named tag (b2) does not count for the claimed digest (b1)', async () => {
      const { base } = await decide(policy('signed', EVIL), `${host}/testrepo:v2-here`);
      expect(base.code).toBe('BASE_SIGNATURE_INVALID');
      expect(base.message).toContain('IDENTITY_MISMATCH');
    });

    it('layers: v2 and v3 are built on b1, the claimed digest, on every platform', async () => {
      for (const tag of ['v2-here', 'v3-here']) {
        const { base } = await decide(policy('layers'), `${host}/testrepo:${tag}`);
        expect(base.code, `${tag}: ${base.message}`).toBe('OK');
        expect((base.details?.platforms as unknown[]).length).toBeGreaterThanOrEqual(3);
      }
    });

    it('layers: v3 is not built on b3, the tag its name claims (so trusting the name would be wrong)', async () => {
      const doc = policyDoc('testrepo-b3', {
        images: [{ glob: `${host}/testrepo` }],
        base: { allowed: [{ image: `${host}/testrepo`, candidates: [`${host}/testrepo:b3`] }] },
      });
      // v3 without its annotations: only the b3 candidate is tried.
      const index = await getIndex('testrepo', 'v3');
      delete index.annotations;
      await putIndex('testrepo', 'v3-unannotated', index);
      const { base } = await decide(doc, `${host}/testrepo:v3-unannotated`);
      expect(base.code).toBe('BASE_NOT_PROVEN');
      expect(base.message).toContain('no signature required');
      expect(base.message).toContain('≠ base diff_ids[0] sha256:980c93875cc1…');
    });
  });
});
