import { describe, expect, it } from 'vitest';
import { compilePolicies } from '../../../src/policy/compile.js';
import { parsePolicyYaml } from '../../../src/policy/load.js';
import { decideUnmatched, type UnmatchedSettings } from '../../../src/policy/unmatched.js';
import { policyYaml } from '../../helpers/policy-documents.js';

const POLICIES = compilePolicies(
  parsePolicyYaml(
    policyYaml('prod-enforce', {
      mode: 'enforce',
      images: [{ glob: 'registry.example.com/**' }],
      exclude: [{ glob: 'registry.example.com/sandbox/**' }],
      namespaces: { include: ['prod-*'], exclude: ['prod-legacy'] },
      requireDigest: true,
    }) +
      '---\n' +
      policyYaml('dev-audit', {
        mode: 'audit',
        images: [{ glob: 'registry.example.com/**' }],
        namespaces: { include: ['dev-*'] },
        requireDigest: true,
      }),
    'p.yaml',
  ),
  {},
);

function decide(image: string, namespace: string, settings: UnmatchedSettings = {}) {
  const repository = image.replace(/[:@].*$/, '');
  return decideUnmatched(POLICIES, { repository, full: image }, { name: namespace }, settings);
}

describe('decideUnmatched', () => {
  describe('when an enforcing policy applies in the namespace', () => {
    it('denies an image no policy governs, naming the enforcing policy', () => {
      const d = decide('ghcr.io/evil/app:1', 'prod-a');
      expect(d.action).toBe('deny');
      expect(d.message).toContain('ImagePolicy "prod-enforce" enforces in namespace "prod-a"');
      expect(d.exempt).toBeUndefined();
    });
    it('only warns under --mode audit', () => {
      expect(decide('ghcr.io/evil/app:1', 'prod-a', { modeOverride: 'audit' }).action).toBe('audit');
    });
  });

  describe('when the policy leaves the image out with spec.exclude', () => {
    it('allows it as an exemption and says which policy exempted it', () => {
      const d = decide('registry.example.com/sandbox/x:1', 'prod-a');
      expect(d).toMatchObject({
        action: 'allow',
        exempt: 'exempted by ImagePolicy "prod-enforce" (spec.exclude)',
      });
    });
  });

  describe('when the namespace is one a policy excludes', () => {
    it('allows an image that policy would govern, as an exemption', () => {
      const d = decide('registry.example.com/app:1', 'prod-legacy');
      expect(d.action).toBe('allow');
      expect(d.exempt).toContain('spec.namespaces leaves out namespace "prod-legacy"');
    });
    it('allows any other image too: no enforcing policy applies there', () => {
      expect(decide('ghcr.io/evil/app:1', 'prod-legacy')).toMatchObject({ action: 'allow' });
    });
  });

  describe('when only audit policies, or none, apply in the namespace', () => {
    it.each(['dev-a', 'kube-system'])('allows an image no policy governs in %s', (ns) => {
      expect(decide('ghcr.io/evil/app:1', ns).action).toBe('allow');
    });
    it('denies under --mode enforce, which makes the audit policy enforce', () => {
      expect(decide('ghcr.io/evil/app:1', 'dev-a', { modeOverride: 'enforce' }).action).toBe('deny');
    });
  });

  describe('when the operator set --unmatched', () => {
    it.each(['allow', 'audit', 'deny'] as const)('applies %s in every namespace', (unmatched) => {
      for (const ns of ['prod-a', 'dev-a', 'kube-system']) {
        expect(decide('ghcr.io/evil/app:1', ns, { unmatched }).action).toBe(unmatched);
      }
    });
    it('turns deny into audit under --mode audit', () => {
      expect(decide('ghcr.io/x:1', 'prod-a', { unmatched: 'deny', modeOverride: 'audit' }).action).toBe(
        'audit',
      );
    });
  });
});
