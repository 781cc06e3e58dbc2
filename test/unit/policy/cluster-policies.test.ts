import { describe, expect, it } from 'vitest';
import type { CheckCompilers } from '../../../src/checks/kinds.js';
import { clusterPolicyHandler } from '../../../src/policy/cluster-policies.js';
import { PolicyStore } from '../../../src/policy/store.js';

const policy = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: 'imagegate.dev/v1alpha1',
  kind: 'ImagePolicy',
  metadata: { name, resourceVersion: '1' },
  spec,
});

function setup() {
  const store = new PolicyStore({}, ['cluster']);
  const errors: string[] = [];
  const rejected: number[] = [];
  const handle = clusterPolicyHandler(
    store,
    {},
    { error: (_o: object, msg: string) => errors.push(msg) } as never,
    (n) => rejected.push(n),
  );
  return { store, errors, rejected, handle };
}

describe('clusterPolicyHandler', () => {
  it('installs every valid resource and makes the store ready', () => {
    const { store, handle } = setup();
    expect(store.readiness().ready).toBe(false);
    const verdict = handle([
      policy('a', { images: [{ glob: '**' }], requireDigest: true }),
      policy('b', { images: [{ glob: 'ghcr.io/**' }] }),
    ]);
    expect(verdict).toEqual({ accepted: ['a', 'b'], rejected: [] });
    expect(store.policies().map((p) => p.name)).toEqual(['a', 'b']);
    expect(store.readiness().ready).toBe(true);
  });

  describe('when a resource becomes invalid', () => {
    it('rejects it with a message naming the field, and keeps its last good version in force', () => {
      const { store, handle, errors, rejected } = setup();
      handle([policy('a', { images: [{ glob: '**' }], requireDigest: true })]);
      const verdict = handle([policy('a', { images: [{ glob: '**' }], mode: 'strict' })]);
      expect(verdict.accepted).toEqual([]);
      expect(verdict.rejected).toEqual([{ name: 'a', error: expect.stringMatching(/spec\.mode/) }]);
      expect(store.policies()[0]?.requireDigest).toBe(true);
      expect(errors).toHaveLength(1);
      expect(rejected).toEqual([0, 1]);
    });

    it('rejects a policy that fails to compile (a check this build cannot run)', () => {
      const { store, handle } = setup();
      const verdict = handle([policy('sized', { images: [{ glob: '**' }], size: { maxLayers: 3 } })]);
      expect(verdict.rejected[0]?.error).toMatch(/spec\.size is not supported/);
      expect(store.policies()).toEqual([]);
    });
  });

  describe('when the same resources are delivered again', () => {
    it('compiles each resource once per change of its spec, not per list or status update', () => {
      const compiled: string[] = [];
      const compilers: CheckCompilers = {
        size: (_spec, ctx) => {
          compiled.push(ctx.policyName);
          return { name: 'size', run: () => Promise.reject(new Error('not run here')) };
        },
      };
      const store = new PolicyStore(compilers, ['cluster']);
      const handle = clusterPolicyHandler(store, compilers, { error: () => undefined } as never, () => {});
      const a = policy('a', { images: [{ glob: '**' }], size: { maxLayers: 3 } });
      const b = policy('b', { images: [{ glob: '**' }], size: { maxLayers: 5 } });
      handle([a, b]);
      expect(compiled).toEqual(['a', 'b']);
      const first = store.policies()[0];
      handle([{ ...a, metadata: { name: 'a', resourceVersion: '2' }, status: { conditions: [] } }, b]);
      expect(compiled).toEqual(['a', 'b']);
      expect(store.policies()[0]).toBe(first);
      handle([policy('a', { images: [{ glob: '**' }], size: { maxLayers: 4 } }), b]);
      expect(compiled).toEqual(['a', 'b', 'a']);
      expect(store.policies().map((p) => p.name)).toEqual(['a', 'b']);
    });
  });

  describe('when a resource is deleted', () => {
    it('drops it, including its last good version', () => {
      const { store, handle } = setup();
      handle([policy('a', { images: [{ glob: '**' }] }), policy('b', { images: [{ glob: '**' }] })]);
      handle([policy('b', { images: [{ glob: '**' }] })]);
      expect(store.policies().map((p) => p.name)).toEqual(['b']);
    });
  });
});
