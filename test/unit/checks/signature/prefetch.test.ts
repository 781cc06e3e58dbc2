/**
 * Signature lookups of a digest-pinned image start beside its manifest fetch (they need only the
 * digest), without extra registry requests and without changing what is cached.
 */
import { describe, expect, it } from 'vitest';
import { checkCompilers } from '../../../../src/checks/kinds.js';
import { VerdictCache, type TrustedRootStore } from '../../../../src/checks/signature/index.js';
import { evaluateImages } from '../../../../src/evaluate/evaluate.js';
import { compilePolicies } from '../../../../src/policy/compile.js';
import { parsePolicyYaml } from '../../../../src/policy/load.js';
import type { ImageReference } from '../../../../src/registry/reference.js';
import type { ResolvedImage } from '../../../../src/registry/types.js';
import { MemoryRegistry } from '../../../helpers/memory-registry.js';
import { keyPolicyYaml, pushSignedImage, signingKey } from '../../../helpers/signed-images.js';

const HOST = 'registry.imagegate.test';
const roots = { has: () => true, ready: () => undefined } as unknown as TrustedRootStore;

/**
 * A MemoryRegistry whose resolve() waits until `release()`, logging every call in order: shows what
 * was asked of the registry while the manifest fetch was still in flight.
 */
class GatedRegistry extends MemoryRegistry {
  readonly log: string[] = [];
  #open!: () => void;
  #gate = new Promise<void>((r) => (this.#open = r));
  release(): void {
    this.#open();
  }
  override async resolve(ref: ImageReference, signal: AbortSignal): Promise<ResolvedImage> {
    this.log.push(`resolve ${ref.digest ?? ref.tag}`);
    await this.#gate;
    this.log.push('resolved');
    return super.resolve(ref, signal);
  }
  override getManifest(...args: Parameters<MemoryRegistry['getManifest']>) {
    this.log.push(`manifest ${args[1]}`);
    return super.getManifest(...args);
  }
  override getReferrers(...args: Parameters<MemoryRegistry['getReferrers']>) {
    this.log.push(`referrers ${args[1]}`);
    return super.getReferrers(...args);
  }
}

/** keyPolicyYaml's signature policy, with a base section (proof: claim) when `base`. */
function policyYaml(key: ReturnType<typeof signingKey>, base: boolean): string {
  const yaml = keyPolicyYaml(key);
  return base ? `${yaml}  base:\n    proof: claim\n    allowed:\n      - image: '${HOST}/base/**'\n` : yaml;
}

async function setup(base = false) {
  const key = signingKey();
  const reg = new GatedRegistry();
  const digest = await pushSignedImage(
    {
      putBlob: async (_r, b) => void reg.putBlob(b),
      putManifest: async (r, b, t) => reg.putManifest(`${HOST}/${r}`, b, t),
    },
    HOST,
    'team/app',
    key,
  );
  const cache = new VerdictCache();
  const policies = compilePolicies(
    parsePolicyYaml(policyYaml(key, base), 'p.yaml'),
    checkCompilers({ trustedRoots: roots, cache }),
  );
  const review = (image: string) =>
    evaluateImages(
      [image],
      policies,
      { unmatched: 'deny' },
      {
        namespace: 'default',
        signal: AbortSignal.timeout(5000),
        registry: reg,
      },
    );
  return { reg, digest, cache, review };
}

/** Lets pending promise callbacks run (the lookups started before the gate opens). */
const settle = () => new Promise((r) => setTimeout(r, 20));

describe('evaluateImages with a signature policy', () => {
  describe('when the image is pinned by digest', () => {
    it('asks for its signature tag and referrers before the manifest has arrived', async () => {
      const { reg, digest, review } = await setup();
      const verdict = review(`${HOST}/team/app@${digest}`);
      await settle();
      const beforeManifest = [...reg.log];
      reg.release();
      const v = await verdict;
      expect(v.allowed, JSON.stringify(v.denials)).toBe(true);
      expect(beforeManifest).toContain(`resolve ${digest}`);
      expect(beforeManifest).not.toContain('resolved');
      const sig = `${digest.replace(':', '-')}.sig`;
      expect(beforeManifest).toEqual(expect.arrayContaining([`manifest ${sig}`, `referrers ${digest}`]));
    });

    it('asks the registry nothing more than when the lookups waited (one of each, no `.att` tag)', async () => {
      const { reg, digest, review } = await setup();
      reg.release();
      await review(`${HOST}/team/app@${digest}`);
      const sig = `${digest.replace(':', '-')}.sig`;
      const att = `${digest.replace(':', '-')}.att`;
      const counts = (s: string) => reg.log.filter((l) => l === s).length;
      // Nothing in a signature-only policy reads attestations.
      expect([sig, att].map((t) => counts(`manifest ${t}`))).toEqual([1, 0]);
      expect(counts(`referrers ${digest}`)).toBe(1);
    });

    it('answers a second review from the verdict cache, before and after the manifest', async () => {
      const { reg, digest, review, cache } = await setup();
      reg.release();
      await review(`${HOST}/team/app@${digest}`);
      expect(cache.size).toBe(1);
      const before = reg.log.length;
      expect((await review(`${HOST}/team/app@${digest}`)).allowed).toBe(true);
      // Only the manifest again (resolution): no signature tag, no referrers.
      expect(reg.log.slice(before)).toEqual([`resolve ${digest}`, 'resolved', `manifest ${digest}`]);
    });

    it('reports the manifest failure, and the early lookups leave no unhandled rejection', async () => {
      const { reg, review } = await setup();
      reg.release();
      const missing = `sha256:${'e'.repeat(64)}`;
      const v = await review(`${HOST}/team/app@${missing}`);
      const finding = v.images[0]?.policies[0]?.findings[0];
      expect(finding).toMatchObject({ check: 'resolve', code: 'MANIFEST_UNKNOWN' });
      await settle(); // vitest fails the run on an unhandled rejection
    });
  });

  describe('when the policy also has a base section (provenance may be read)', () => {
    it('asks for the .att tag beside the signatures, before the manifest has arrived, once', async () => {
      const { reg, digest, review } = await setup(true);
      const verdict = review(`${HOST}/team/app@${digest}`);
      await settle();
      const beforeManifest = [...reg.log];
      reg.release();
      await verdict;
      const att = `manifest ${digest.replace(':', '-')}.att`;
      expect(beforeManifest).not.toContain('resolved');
      expect(beforeManifest).toContain(att);
      expect(reg.log.filter((l) => l === att)).toHaveLength(1);
    });

    it('asks for no .att tag when the cache holds the lookup (the verdict passed)', async () => {
      const { reg, digest, review, cache } = await setup(true);
      reg.release();
      await review(`${HOST}/team/app@${digest}`);
      expect(cache.size).toBe(2); // the verdict and the `.att` lookup
      const before = reg.log.length;
      await review(`${HOST}/team/app@${digest}`);
      expect(reg.log.slice(before)).toEqual([`resolve ${digest}`, 'resolved', `manifest ${digest}`]);
    });
  });

  describe('when the image is referenced by tag', () => {
    it('looks for signatures only once the manifest has told the digest', async () => {
      const { reg, review } = await setup();
      const verdict = review(`${HOST}/team/app:v1`);
      await settle();
      const beforeManifest = [...reg.log];
      reg.release();
      expect((await verdict).allowed).toBe(true);
      expect(beforeManifest).toEqual(['resolve v1']);
    });
  });
});
