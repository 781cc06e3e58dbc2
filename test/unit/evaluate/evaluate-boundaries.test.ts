/**
 * Issue 20 in the evaluator: a bug in a check fails closed whatever onError says (property 1), and a
 * reused outcome is kept per credential scope (property 6).
 */
import { describe, expect, it } from 'vitest';
import type { Check } from '../../../src/checks/check.js';
import { evaluateImages } from '../../../src/evaluate/evaluate.js';
import { OutcomeReuse } from '../../../src/evaluate/reused-outcomes.js';
import { compilePolicies, type CheckCompilers } from '../../../src/policy/compile.js';
import { parsePolicyYaml } from '../../../src/policy/load.js';
import type { RegistryAccess, ResolvedImage } from '../../../src/registry/types.js';
import { policyYaml } from '../../helpers/policy-documents.js';

const DIGEST = `sha256:${'d'.repeat(64)}`;
const PINNED = `registry.example.com/team/app@${DIGEST}`;
const LENIENT = policyYaml('lenient', {
  mode: 'enforce',
  onError: 'allow',
  images: [{ glob: 'registry.example.com/**' }],
  size: { maxCompressed: '1Gi' },
});

function sizeCheck(run: Check<'size'>['run']): CheckCompilers {
  return { size: (): Check<'size'> => ({ name: 'size', run }) };
}

function access(scope: string): RegistryAccess {
  return {
    credentialScope: async () => scope,
    resolve: async (reference) => ({ reference, digest: DIGEST }) as unknown as ResolvedImage,
    getManifest: () => Promise.reject(new Error('unused')),
    getBlob: () => Promise.reject(new Error('unused')),
    getReferrers: () => Promise.reject(new Error('unused')),
  };
}

const context = (registry: RegistryAccess) => ({
  namespace: 'team',
  signal: new AbortController().signal,
  registry,
});

describe('evaluateImages at the boundaries of issue 20', () => {
  describe('when a check throws a TypeError (a bug) under onError: allow', () => {
    it('denies with INTERNAL_ERROR, a completed finding', async () => {
      const policies = compilePolicies(
        parsePolicyYaml(LENIENT, 't.yaml'),
        sizeCheck(async () => {
          throw new TypeError("Cannot read properties of null (reading 'os')");
        }),
      );
      const verdict = await evaluateImages([PINNED], policies, {}, context(access('anonymous')));
      expect(verdict.allowed).toBe(false);
      const finding = verdict.images[0]?.policies[0]?.findings[0];
      expect(finding).toMatchObject({ code: 'INTERNAL_ERROR', passed: false });
      expect(finding?.indeterminate).not.toBe(true);
    });
  });

  describe('when a pinned image passed with one credential', () => {
    it('is reused for that credential only; another credential runs the checks again', async () => {
      let runs = 0;
      const policies = compilePolicies(
        parsePolicyYaml(LENIENT, 't.yaml'),
        sizeCheck(async () => {
          runs++;
          return {
            check: 'size',
            passed: true,
            code: 'OK',
            message: 'small',
            durationMs: 1,
            reusable: () => true,
          };
        }),
      );
      const engine = { reuse: new OutcomeReuse() };
      await evaluateImages([PINNED], policies, engine, context(access('secret-of-team-a')));
      await evaluateImages([PINNED], policies, engine, context(access('secret-of-team-a')));
      expect(runs).toBe(1);
      await evaluateImages([PINNED], policies, engine, context(access('anonymous')));
      expect(runs).toBe(2);
    });
  });
});
