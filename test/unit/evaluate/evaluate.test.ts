import { describe, expect, it } from 'vitest';
import type { Check } from '../../../src/checks/check.js';
import { RegistryError } from '../../../src/errors.js';
import { evaluateImages, type EvaluationSettings } from '../../../src/evaluate/evaluate.js';
import { compilePolicies, type CheckCompilers } from '../../../src/policy/compile.js';
import { parsePolicyYaml } from '../../../src/policy/load.js';
import type { RegistryAccess, ResolvedImage } from '../../../src/registry/types.js';
import { policyYaml } from '../../helpers/policy-documents.js';

const DIGEST = `sha256:${'b'.repeat(64)}`;

/** A size "check" stand-in whose outcome the test controls, to exercise the engine's decision rules. */
function scriptedCompilers(outcome: 'pass' | 'fail' | 'indeterminate'): CheckCompilers {
  return {
    size: (): Check<'size'> => ({
      name: 'size',
      async run() {
        if (outcome === 'indeterminate') {
          throw new RegistryError('REGISTRY_UNAVAILABLE', 'registry.example.com: connection refused', {
            indeterminate: true,
          });
        }
        return {
          check: 'size',
          passed: outcome === 'pass',
          code: outcome === 'pass' ? 'OK' : 'SIZE_EXCEEDED',
          message: 'size 2 GiB > 1 GiB',
        };
      },
    }),
  };
}

/** Resolves every reference to one digest; records how often it was asked. */
function resolvingRegistry(): RegistryAccess & { calls: number } {
  const access = {
    calls: 0,
    async resolve(reference) {
      access.calls++;
      return { reference, digest: DIGEST } as unknown as ResolvedImage;
    },
    getManifest: () => Promise.reject(new Error('unused')),
    getBlob: () => Promise.reject(new Error('unused')),
    getReferrers: () => Promise.reject(new Error('unused')),
  } satisfies RegistryAccess & { calls: number };
  return access;
}

function policies(yaml: string, compilers: CheckCompilers = {}) {
  return compilePolicies(parsePolicyYaml(yaml, 'test.yaml'), compilers);
}

const settings: EvaluationSettings = { unmatched: 'allow' };
const ctx = () => ({ namespace: 'prod-a', signal: AbortSignal.timeout(5000) });

const ENFORCE_DIGEST = policyYaml('pinned', {
  mode: 'enforce',
  images: [{ glob: 'registry.example.com/**' }],
  requireDigest: true,
});

/** `image` under ENFORCE_DIGEST with the file's settings (and `overrides`). */
const underDigestPolicy = (image: string, overrides: Partial<EvaluationSettings> = {}) =>
  evaluateImages([image], policies(ENFORCE_DIGEST), { ...settings, ...overrides }, ctx());

/** One image under `yaml` whose size check answers `outcome`, through a registry that resolves. */
const scriptedRun = (yaml: string, outcome: 'pass' | 'fail' | 'indeterminate') =>
  evaluateImages(['registry.example.com/app:1'], policies(yaml, scriptedCompilers(outcome)), settings, {
    ...ctx(),
    registry: resolvingRegistry(),
  });

describe('evaluateImages', () => {
  describe('when an enforcing policy requires digests', () => {
    it('denies a tag-only image and names the policy and the check', async () => {
      const v = await underDigestPolicy('registry.example.com/team/app:1');
      expect(v.allowed).toBe(false);
      expect(v.denials).toEqual([
        expect.objectContaining({
          image: 'registry.example.com/team/app:1',
          policy: 'pinned',
          message: expect.stringMatching(/^digest DIGEST_REQUIRED: /),
        }),
      ]);
    });

    it('allows the same image pinned by digest', async () => {
      const v = await underDigestPolicy(`registry.example.com/team/app@${DIGEST}`);
      expect(v.allowed).toBe(true);
      expect(v.images[0]?.digest).toBe(DIGEST);
    });

    it('turns the denial into an audit warning under the global audit override', async () => {
      const v = await underDigestPolicy('registry.example.com/team/app:1', { modeOverride: 'audit' });
      expect(v).toMatchObject({ allowed: true, wouldDeny: true, denials: [] });
      expect(v.audits).toHaveLength(1);
    });

    it('does not govern a look-alike registry (anchored globs)', async () => {
      const v = await underDigestPolicy('registry.example.com.evil.io/team/app:1');
      expect(v.allowed).toBe(true);
      expect(v.images[0]?.unmatched).toBe('allow');
    });
  });

  describe('when no policy governs an image', () => {
    it.each([
      ['allow', true, false],
      ['audit', true, true],
      ['deny', false, false],
    ] as const)('follows unmatched: %s', async (unmatched, allowed, wouldDeny) => {
      const v = await evaluateImages(['nginx'], policies(ENFORCE_DIGEST), { unmatched }, ctx());
      expect(v.allowed).toBe(allowed);
      expect(v.wouldDeny).toBe(wouldDeny);
    });
  });

  describe('when a check cannot complete', () => {
    const yaml = (onError: string) => `
apiVersion: imagegate.dev/v1alpha1
kind: ImagePolicy
metadata: { name: sized }
spec:
  images: [{ glob: "**" }]
  onError: ${onError}
  size: { maxCompressed: 1Gi }
`;
    it('denies with onError: deny and reports the error code', async () => {
      const v = await scriptedRun(yaml('deny'), 'indeterminate');
      expect(v.allowed).toBe(false);
      expect(v.images[0]?.policies[0]?.findings[0]).toMatchObject({
        check: 'size',
        code: 'REGISTRY_UNAVAILABLE',
        indeterminate: true,
      });
    });

    it('allows with a warning with onError: allow', async () => {
      const v = await scriptedRun(yaml('allow'), 'indeterminate');
      expect(v).toMatchObject({ allowed: true, wouldDeny: false });
      expect(v.errorsAllowed).toEqual([expect.objectContaining({ policy: 'sized' })]);
      expect(v.images[0]?.policies[0]?.result).toBe('error-allowed');
    });

    it('still denies a definitive violation with onError: allow', async () => {
      const v = await scriptedRun(yaml('allow'), 'fail');
      expect(v.allowed).toBe(false);
    });

    it('resolves each distinct image once, whatever the number of policies and containers', async () => {
      const registry = resolvingRegistry();
      const two = `${yaml('deny')}---\n${yaml('deny').replace('name: sized', 'name: sized-2')}`;
      const v = await evaluateImages(
        ['registry.example.com/app:1', 'registry.example.com/app:1'],
        policies(two, scriptedCompilers('pass')),
        settings,
        { ...ctx(), registry },
      );
      expect(v.allowed).toBe(true);
      expect(registry.calls).toBe(1);
      expect(v.images).toHaveLength(1);
      expect(v.images[0]?.digest).toBe(DIGEST);
    });
  });

  describe('when a policy section has no compiler in this build', () => {
    it('rejects the policy at load rather than skipping the check', () => {
      expect(() =>
        policies(policyYaml('sized', { images: [{ glob: '**' }], size: { maxLayers: 3 } })),
      ).toThrow(/spec.size is not supported/);
    });
  });

  describe('when the reference is invalid', () => {
    it('denies when a policy enforces and says why', async () => {
      const v = await evaluateImages(['Registry.example.com/App'], policies(ENFORCE_DIGEST), settings, ctx());
      expect(v.allowed).toBe(false);
      expect(v.denials[0]?.message).toMatch(/invalid image reference/);
    });
  });
});
