/**
 * Reused outcomes (evaluate.ts): a digest-pinned image whose governing policies all passed with
 * reusable findings is answered again without running its checks, only while every finding says it
 * still holds, and never across policy sets, namespaces that select other policies, failures, tags
 * the registry names no fresh digest for (tag-reuse.test.ts: those it does), or a pod over the
 * registry's image budget.
 */
import { describe, expect, it } from 'vitest';
import type { Check, Finding } from '../../../src/checks/check.js';
import { evaluateImages, type EvaluationContext } from '../../../src/evaluate/evaluate.js';
import { OutcomeReuse } from '../../../src/evaluate/reused-outcomes.js';
import { compilePolicies, type CheckCompilers } from '../../../src/policy/compile.js';
import { parsePolicyYaml } from '../../../src/policy/load.js';
import type { RegistryAccess, ResolvedImage } from '../../../src/registry/types.js';
import { policyYaml } from '../../helpers/policy-documents.js';

const DIGEST = `sha256:${'c'.repeat(64)}`;
const PINNED = `registry.example.com/team/app@${DIGEST}`;

/** A size check stand-in: counts its runs; passes or fails; marks its finding reusable while `valid`. */
function countingCheck(script: { passed: boolean; reusable?: boolean; valid?: () => boolean }) {
  const state = { runs: 0 };
  const compilers: CheckCompilers = {
    size: (): Check<'size'> => ({
      name: 'size',
      async run() {
        state.runs++;
        const finding: Finding<'size'> = {
          check: 'size',
          passed: script.passed,
          code: script.passed ? 'OK' : 'SIZE_EXCEEDED',
          message: script.passed ? '12 MiB within 1 GiB' : '2 GiB over 1 GiB',
          durationMs: 3,
        };
        if (script.reusable === true) finding.reusable = script.valid ?? (() => true);
        return finding;
      },
    }),
  };
  return { state, compilers };
}

function registry(limits?: { maxImagesPerReview: number }): RegistryAccess & { calls: number } {
  const access = {
    calls: 0,
    ...(limits !== undefined ? { limits: limits as RegistryAccess['limits'] } : {}),
    async resolve(reference) {
      access.calls++;
      return { reference, digest: reference.digest ?? DIGEST } as unknown as ResolvedImage;
    },
    getManifest: () => Promise.reject(new Error('unused')),
    getBlob: () => Promise.reject(new Error('unused')),
    getReferrers: () => Promise.reject(new Error('unused')),
  } satisfies RegistryAccess & { calls: number };
  return access;
}

const SIZED = policyYaml('sized', {
  mode: 'enforce',
  images: [{ glob: 'registry.example.com/**' }],
  size: { maxCompressed: '1Gi' },
});

/** SIZED, plus a second policy that governs namespace "prod" only. */
const SIZED_AND_PROD = `${SIZED}---\n${policyYaml('prod-only', {
  mode: 'enforce',
  images: [{ glob: 'registry.example.com/**' }],
  namespaces: { include: ['prod'] },
  size: { maxCompressed: '1Gi' },
})}`;

/** One engine's settings, with its reused outcomes (each test compiles its own policy set). */
const settings = { unmatched: 'allow', reuse: new OutcomeReuse() } as const;

function context(
  namespace = 'team',
  access: RegistryAccess = registry(),
): EvaluationContext & {
  checked: [string, number][];
} {
  const checked: [string, number][] = [];
  return {
    namespace,
    signal: AbortSignal.timeout(5000),
    registry: access,
    checked,
    onCheck: (check, _policy, seconds) => checked.push([check, seconds]),
  };
}

function compile(yaml: string, compilers: CheckCompilers) {
  return compilePolicies(parsePolicyYaml(yaml, 'test.yaml'), compilers);
}

describe('reused outcomes', () => {
  describe('when a pinned image passed with reusable findings', () => {
    it('answers the next review without running the check or asking the registry', async () => {
      const { state, compilers } = countingCheck({ passed: true, reusable: true });
      const set = compile(SIZED, compilers);
      const first = await evaluateImages([PINNED], set, settings, context());
      const access = registry();
      const again = context('team', access);
      const second = await evaluateImages([PINNED], set, settings, again);

      expect(state.runs).toBe(1);
      expect(access.calls).toBe(0);
      expect(second.allowed).toBe(true);
      const [was, now] = [first.images[0]!.policies[0]!, second.images[0]!.policies[0]!];
      expect(now).toMatchObject({ policy: 'sized', result: 'pass', mode: 'enforce' });
      expect(now.findings[0]).toEqual({ ...was.findings[0], durationMs: 0 }); // the check did not run
      expect(again.checked).toEqual([]); // no check ran: no check duration to observe
      expect(second.images[0]!.digest).toBe(DIGEST);
      // the audit reads which answer was reused from the outcome itself
      expect(first.images[0]!.reused).toBeUndefined();
      expect(second.images[0]!.reused).toBe(true);
    });

    it('runs the check again once its finding no longer holds', async () => {
      let valid = true;
      const { state, compilers } = countingCheck({ passed: true, reusable: true, valid: () => valid });
      const set = compile(SIZED, compilers);
      await evaluateImages([PINNED], set, settings, context());
      await evaluateImages([PINNED], set, settings, context());
      expect(state.runs).toBe(1);
      valid = false;
      const access = registry();
      await evaluateImages([PINNED], set, settings, context('team', access));
      expect(state.runs).toBe(2);
      expect(access.calls).toBe(1);
    });

    it('does not carry outcomes over to a reloaded policy set', async () => {
      const { state, compilers } = countingCheck({ passed: true, reusable: true });
      await evaluateImages([PINNED], compile(SIZED, compilers), settings, context());
      await evaluateImages([PINNED], compile(SIZED, compilers), settings, context());
      expect(state.runs).toBe(2);
    });

    it('keeps outcomes apart for namespaces that select different policies', async () => {
      const { state, compilers } = countingCheck({ passed: true, reusable: true });
      const set = compile(SIZED_AND_PROD, compilers);
      const team = await evaluateImages([PINNED], set, settings, context('team'));
      const prod = await evaluateImages([PINNED], set, settings, context('prod'));
      expect(team.images[0]!.policies.map((p) => p.policy)).toEqual(['sized']);
      expect(prod.images[0]!.policies.map((p) => p.policy)).toEqual(['sized', 'prod-only']);
      expect(state.runs).toBe(3); // team: sized; prod: sized and prod-only (not team's outcome)
      await evaluateImages([PINNED], set, settings, context('prod'));
      await evaluateImages([PINNED], set, settings, context('team'));
      expect(state.runs).toBe(3);
    });

    it('does not reuse under another global mode override', async () => {
      const { state, compilers } = countingCheck({ passed: true, reusable: true });
      const set = compile(SIZED, compilers);
      await evaluateImages([PINNED], set, settings, context());
      const audited = await evaluateImages([PINNED], set, { ...settings, modeOverride: 'audit' }, context());
      expect(state.runs).toBe(2);
      expect(audited.images[0]!.policies[0]!.mode).toBe('audit');
    });

    it('shares nothing between two engines, even for the same policy set', async () => {
      const { state, compilers } = countingCheck({ passed: true, reusable: true });
      const set = compile(SIZED, compilers);
      const one = { ...settings, reuse: new OutcomeReuse() };
      const two = { ...settings, reuse: new OutcomeReuse() };
      await evaluateImages([PINNED], set, one, context());
      const access = registry();
      const other = await evaluateImages([PINNED], set, two, context('team', access));
      expect(state.runs).toBe(2);
      expect(access.calls).toBe(1);
      expect(other.images[0]!.reused).toBeUndefined();
      await evaluateImages([PINNED], set, one, context());
      await evaluateImages([PINNED], set, two, context());
      expect(state.runs).toBe(2); // each engine reuses its own
    });

    it('reuses nothing for settings without reused outcomes (no engine owns any)', async () => {
      const { state, compilers } = countingCheck({ passed: true, reusable: true });
      const set = compile(SIZED, compilers);
      await evaluateImages([PINNED], set, { unmatched: 'allow' }, context());
      await evaluateImages([PINNED], set, { unmatched: 'allow' }, context());
      expect(state.runs).toBe(2);
    });

    it('runs the checks when the pod names more images than the registry budget allows', async () => {
      const { state, compilers } = countingCheck({ passed: true, reusable: true });
      const set = compile(SIZED, compilers);
      const other = `registry.example.com/team/other@sha256:${'d'.repeat(64)}`;
      await evaluateImages([PINNED, other], set, settings, context());
      expect(state.runs).toBe(2);
      const access = registry({ maxImagesPerReview: 1 });
      await evaluateImages([PINNED, other], set, settings, context('team', access));
      expect(state.runs).toBe(4);
      expect(access.calls).toBe(2);
    });
  });

  describe('when an outcome may not be reused', () => {
    it.each([
      ['the check failed', { passed: false, reusable: true }, PINNED],
      ['the finding is not marked reusable', { passed: true }, PINNED],
      [
        'the image is referenced by a tag with no fresh digest',
        { passed: true, reusable: true },
        'registry.example.com/team/app:1',
      ],
    ] as const)('runs the check every time: %s', async (_why, script, image) => {
      const { state, compilers } = countingCheck(script);
      const set = compile(SIZED, compilers);
      for (let i = 0; i < 3; i++) await evaluateImages([image], set, settings, context());
      expect(state.runs).toBe(3);
    });
  });
});
