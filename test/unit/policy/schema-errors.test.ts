import { describe, expect, it } from 'vitest';
import { parsePolicyYaml } from '../../../src/policy/load.js';

const policy = (extra: string) =>
  `apiVersion: imagegate.dev/v1alpha1\nkind: ImagePolicy\nmetadata: { name: p }\nspec:\n  images: [{ glob: "**" }]\n  ${extra}\n`;

describe('parsePolicyYaml', () => {
  describe('when an enum field has a value it does not allow', () => {
    it.each([
      ['mode: strict', 'spec.mode: must be one of enforce, audit (found "strict")'],
      ['onError: ignore', 'spec.onError: must be one of deny, allow (found "ignore")'],
      [
        'namespaces: { matchExpressions: [{ key: a, operator: Is }] }',
        'spec.namespaces.matchExpressions[0].operator: must be one of In, NotIn, Exists, DoesNotExist (found "Is")',
      ],
    ])('%s: names the allowed values', (extra, message) => {
      expect(() => parsePolicyYaml(policy(extra), 'p.yaml')).toThrow(
        expect.objectContaining({ code: 'POLICY_INVALID', message: expect.stringContaining(message) }),
      );
    });
  });
});
