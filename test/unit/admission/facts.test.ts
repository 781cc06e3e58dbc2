import { describe, expect, it } from 'vitest';
import { toRequestFacts } from '../../../src/admission/facts.js';
import { parseAdmissionReview } from '../../../src/admission/parse.js';
import { podReview } from '../../helpers/admission-fixtures.js';

function factsOf(body: unknown) {
  return toRequestFacts(parseAdmissionReview(body).request);
}

describe('toRequestFacts', () => {
  describe('when a pod is created', () => {
    const body = podReview(['registry.example.com/app:1', 'nginx:1'], {
      namespace: 'team',
      name: 'web',
      user: 'bob',
      uid: 'f-1',
    });
    const spec = (body.request.object as { spec: Record<string, unknown> }).spec;
    spec.imagePullSecrets = [{ name: 'regcred' }, {}, { name: '' }];
    spec.serviceAccountName = 'builder';

    it('names the object, its subject and who asked', () => {
      const facts = factsOf(body);
      expect(facts).toMatchObject({
        uid: 'f-1',
        operation: 'CREATE',
        dryRun: false,
        user: 'bob',
        kind: 'Pod',
        namespace: 'team',
        name: 'web',
        subject: 'Pod team/web',
      });
      expect(facts.previousImages()).toBeUndefined();
    });

    it('computes the images and the pull identity once', () => {
      const facts = factsOf(body);
      expect(facts.images().map((i) => i.pointer)).toEqual([
        '/spec/containers/0/image',
        '/spec/containers/1/image',
      ]);
      expect(facts.images()).toBe(facts.images());
      expect(facts.pullIdentity()).toEqual({ pullSecrets: ['regcred'], serviceAccount: 'builder' });
      expect(facts.pullIdentity()).toBe(facts.pullIdentity());
    });
  });

  describe('when a pod is deleted (no object)', () => {
    const body = podReview([], { uid: 'f-2' });
    body.request.operation = 'DELETE';
    body.request.oldObject = body.request.object;
    body.request.object = null;

    it('takes the name from oldObject, and has no images to read', () => {
      const facts = factsOf(body);
      expect(facts.name).toBe('web');
      expect(facts.previousImages()).toEqual(new Set());
      expect(() => facts.images()).toThrow(expect.objectContaining({ code: 'NO_POD_SPEC' }));
    });
  });

  describe('when a cluster-scoped object has only generateName', () => {
    it('uses generateName and leaves the namespace out of the subject', () => {
      const body = podReview([]);
      delete body.request.namespace;
      body.request.object = { metadata: { generateName: 'web-' }, spec: { containers: [] } };
      expect(factsOf(body)).toMatchObject({ namespace: '', name: 'web-', subject: 'Pod web-' });
    });
  });
});
