import { describe, expect, it } from 'vitest';
import { toRequestFacts } from '../../../src/admission/facts.js';
import type { AdmissionReviewRequest } from '../../../src/admission/review.schema.js';
import type { Engine, RequestScope } from '../../../src/evaluate/engine.js';
import type { RegistryAccess, ResolvedImage } from '../../../src/registry/types.js';
import { pinDigests } from '../../../src/review/mutate.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

function engineRecording(scopes: RequestScope[]): Engine {
  const access = {
    resolve: async (reference) => ({ reference, digest: DIGEST }) as unknown as ResolvedImage,
  } as Pick<RegistryAccess, 'resolve'> as RegistryAccess;
  return {
    policies: () => [],
    settings: { unmatched: 'allow' },
    registry: async (scope) => {
      scopes.push(scope);
      return access;
    },
  };
}

describe('pinDigests', () => {
  describe('when the pod pulls with its own secrets and service account', () => {
    it('resolves with that pull identity, as the validating path does', async () => {
      const scopes: RequestScope[] = [];
      const review = {
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: {
          uid: 'u1',
          kind: { group: '', version: 'v1', kind: 'Pod' },
          operation: 'CREATE',
          namespace: 'team',
          object: {
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: { name: 'web' },
            spec: {
              serviceAccountName: 'builder',
              imagePullSecrets: [{ name: 'regcred' }],
              containers: [{ name: 'c', image: 'registry.example.com/app:1' }],
            },
          },
        },
      } as unknown as AdmissionReviewRequest;
      const result = await pinDigests(toRequestFacts(review.request), {
        engine: engineRecording(scopes),
        signal: AbortSignal.timeout(1000),
        deadline: 123,
        started: performance.now(),
      });
      expect(scopes).toEqual([
        { namespace: 'team', pullSecrets: ['regcred'], serviceAccount: 'builder', deadline: 123 },
      ]);
      const patch = JSON.parse(Buffer.from(String(result.response.response.patch), 'base64').toString());
      expect(patch).toEqual([
        { op: 'replace', path: '/spec/containers/0/image', value: `registry.example.com/app:1@${DIGEST}` },
      ]);
    });
  });
});
