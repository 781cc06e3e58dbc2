import { describe, expect, it } from 'vitest';
import { secretRefsOf } from '../../../src/kube/key-probe.js';

describe('secretRefsOf', () => {
  describe('when a key is kms: k8s://NAMESPACE/NAME', () => {
    it("probes that Secret's cosign.pub like a secretRef, and no other kms reference", () => {
      const doc = {
        spec: {
          signature: {
            authorities: [
              { key: { kms: 'k8s://ci/cosign-keys' } },
              { key: { kms: 'hashivault://signer' } },
              { key: { kms: 'k8s://Not/Valid' } },
              { key: { secretRef: { name: 'other', key: 'k.pub' } } },
            ],
          },
        },
      };
      expect(secretRefsOf(doc)).toEqual([
        { namespace: 'ci', name: 'cosign-keys', key: 'cosign.pub' },
        { name: 'other', key: 'k.pub' },
      ]);
    });
  });
});
