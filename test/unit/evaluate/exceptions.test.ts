import { describe, expect, it } from 'vitest';
import { namespacedDocument } from '../../helpers/policy-documents.js';
import type { Check } from '../../../src/checks/check.js';
import { toWarnings } from '../../../src/admission/response.js';
import { evaluateImages, type EvaluationContext } from '../../../src/evaluate/evaluate.js';
import type { WorkloadRef } from '../../../src/evaluate/exempt.js';
import { compilePolicies, type CheckCompilers } from '../../../src/policy/compile.js';
import { parsePolicyYaml } from '../../../src/policy/load.js';
import { compileException, validateExceptionDocument } from '../../../src/policy/exceptions.js';
import type { RegistryAccess, ResolvedImage } from '../../../src/registry/types.js';

const DIGEST = `sha256:${'c'.repeat(64)}`;
const NOW = Date.parse('2026-12-07T12:00:00Z');
const EXPIRES = '2026-12-10T12:00:00Z';
const EXPIRES_AT = Date.parse(EXPIRES);

/** A size check that always fails: the finding an exception may let through. */
const failingSize: CheckCompilers = {
  size: (): Check<'size'> => ({
    name: 'size',
    run: () =>
      Promise.resolve({ check: 'size', passed: false, code: 'SIZE_EXCEEDED', message: 'size 2 GiB > 1 GiB' }),
  }),
};

const registry = {
  resolve: (reference) => Promise.resolve({ reference, digest: DIGEST } as unknown as ResolvedImage),
  getManifest: () => Promise.reject(new Error('unused')),
  getBlob: () => Promise.reject(new Error('unused')),
  getReferrers: () => Promise.reject(new Error('unused')),
} satisfies RegistryAccess;

const POLICIES = compilePolicies(
  parsePolicyYaml(
    `
apiVersion: imagegate.dev/v1alpha1
kind: ImagePolicy
metadata: { name: small-pinned }
spec:
  images: [{ glob: "registry.example.com/**" }]
  requireDigest: true
  size: { maxCompressed: 1Gi }
`,
    'p.yaml',
  ),
  failingSize,
);

function exception(spec: string, namespace = 'team-a', name = 'hotfix') {
  const doc = namespacedDocument('ImagePolicyException', spec, namespace, name);
  return compileException(
    validateExceptionDocument(doc, 'e.yaml', { now: NOW, maxDurationMs: 30 * 86_400_000 }),
  );
}

const BASIC = `
policies: [small-pinned]
images: [{ glob: "registry.example.com/team-a/**" }]
reason: "CVE fix in progress, ticket OPS-1"
expires: "${EXPIRES}"
`;

function review(
  exceptions: ReturnType<typeof exception>[],
  options: { namespace?: string; now?: number; workload?: WorkloadRef[]; image?: string } = {},
) {
  const ctx: EvaluationContext = {
    namespace: options.namespace ?? 'team-a',
    signal: AbortSignal.timeout(5000),
    registry,
    exceptions: { exceptions, workload: options.workload ?? [], now: options.now ?? NOW },
  };
  return evaluateImages(
    [options.image ?? 'registry.example.com/team-a/app:1'],
    POLICIES,
    { unmatched: 'deny' },
    ctx,
  );
}

describe('ImagePolicyException applied to a review', () => {
  describe('in its own namespace, for the policy, image and checks it names', () => {
    it('allows, marks each failed finding exempted (not passed) and warns with its name, reason and expiry', async () => {
      const v = await review([exception(BASIC)]);
      expect(v.allowed).toBe(true);
      const p = v.images[0]!.policies[0]!;
      expect(p.result).toBe('exempted');
      expect(p.findings.map((f) => [f.check, f.passed, f.exemptedBy?.exception])).toEqual([
        ['digest', false, 'team-a/hotfix'],
        ['size', false, 'team-a/hotfix'],
      ]);
      expect(v.exempted).toEqual([
        expect.objectContaining({
          policy: 'small-pinned',
          exception: 'team-a/hotfix',
          reason: 'CVE fix in progress, ticket OPS-1',
          expires: EXPIRES,
        }),
      ]);
      const [warning] = toWarnings(v);
      expect(warning).toContain('exception team-a/hotfix');
      expect(warning).toContain(`expires ${EXPIRES}`);
      expect(warning).toContain('CVE fix in progress, ticket OPS-1');
    });
  });

  describe('in another namespace', () => {
    it('does nothing', async () => {
      const v = await review([exception(BASIC, 'team-b')]);
      expect(v.allowed).toBe(false);
      expect(v.exempted).toEqual([]);
      expect(v.images[0]!.policies[0]!.findings.every((f) => f.exemptedBy === undefined)).toBe(true);
    });
  });

  describe('at its expiry, by the engine clock', () => {
    it('applies one second before and not at the second it expires', async () => {
      expect((await review([exception(BASIC)], { now: EXPIRES_AT - 1000 })).allowed).toBe(true);
      const at = await review([exception(BASIC)], { now: EXPIRES_AT });
      expect(at.allowed).toBe(false);
      expect(at.exempted).toEqual([]);
    });
  });

  describe('naming a policy that does not exist', () => {
    it('is Invalid and exempts nothing, even from the policies that exist', async () => {
      const e = exception(BASIC.replace('[small-pinned]', '[small-pinned, no-such-policy]'));
      const v = await review([e]);
      expect(v.allowed).toBe(false);
      expect(v.exempted).toEqual([]);
    });
  });

  describe('limited to some checks', () => {
    it('exempts only those; the other failure still denies and the exemption is still reported', async () => {
      const v = await review([exception(`${BASIC}\nchecks: [size]`)]);
      expect(v.allowed).toBe(false);
      expect(v.denials[0]!.message).toMatch(/^digest DIGEST_REQUIRED/);
      expect(v.denials[0]!.message).not.toContain('SIZE_EXCEEDED');
      expect(v.exempted.map((r) => r.message)).toEqual([expect.stringMatching(/^size SIZE_EXCEEDED/)]);
    });
  });

  describe('for other images', () => {
    it('does nothing', async () => {
      const v = await review([exception(BASIC)], { image: 'registry.example.com/team-b/app:1' });
      expect(v.allowed).toBe(false);
    });
  });

  describe('with workload selectors', () => {
    const selective = `${BASIC}\nworkloads: [{ kind: Deployment, name: "web-*" }]`;
    it('applies to the selected workload and to no other', async () => {
      const web = [
        { kind: 'Pod', name: 'web-1-abc' },
        { kind: 'Deployment', name: 'web-frontend' },
      ];
      expect((await review([exception(selective)], { workload: web })).allowed).toBe(true);
      expect(
        (await review([exception(selective)], { workload: [{ kind: 'Deployment', name: 'api' }] })).allowed,
      ).toBe(false);
      expect((await review([exception(selective)], { workload: [] })).allowed).toBe(false);
    });
  });
});
