/** The reuse store on its own: what it keeps, for how long it answers, and its bound. */
import { describe, expect, it } from 'vitest';
import type { PolicyOutcome } from '../../../src/evaluate/decision.js';
import { MAX_REUSED, ReusedOutcomes } from '../../../src/evaluate/reused-outcomes.js';

/** One policy that passed on one size finding (with durationMs when the check ran). */
function passed(durationMs?: number): PolicyOutcome[] {
  const finding = { check: 'size', passed: true, code: 'OK', message: '12 MiB within 1 GiB' } as const;
  const findings = [durationMs !== undefined ? { ...finding, durationMs } : finding];
  return [{ policy: 'sized', mode: 'enforce', onError: 'deny', result: 'pass', findings }];
}

describe('ReusedOutcomes', () => {
  describe('keep', () => {
    it('keeps a passing outcome as frozen policies whose checks did not run (durationMs 0)', () => {
      const store = new ReusedOutcomes();
      store.keep('k', passed(3), [() => true]);
      const again = store.get('k')!;
      expect(Object.isFrozen(again)).toBe(true);
      expect(again[0]!.findings[0]!.durationMs).toBe(0);
      expect(store.get('k')).toBe(again); // the same objects every time
    });

    it('keeps findings decided without a check (no test to ask) and keeps nothing when a finding is not reusable', () => {
      const store = new ReusedOutcomes();
      store.keep('digest-only', passed(), []);
      expect(store.get('digest-only')?.[0]!.findings[0]!.durationMs).toBeUndefined();
      store.keep('fresh', passed(3), undefined);
      expect(store.get('fresh')).toBeUndefined();
    });

    it('never keeps a policy that did not pass', () => {
      const store = new ReusedOutcomes();
      store.keep('k', [{ ...passed(3)[0]!, result: 'error-allowed' }], [() => true]);
      expect(store.get('k')).toBeUndefined();
    });
  });

  describe('get', () => {
    it('drops an entry once one of its findings no longer holds', () => {
      const store = new ReusedOutcomes();
      let valid = true;
      store.keep('k', passed(3), [() => true, () => valid]);
      expect(store.get('k')).toBeDefined();
      valid = false;
      expect(store.get('k')).toBeUndefined();
      valid = true;
      expect(store.get('k')).toBeUndefined(); // dropped, not merely hidden
      expect(store.size).toBe(0);
    });
  });

  describe('when more images pass than it may hold', () => {
    it(`holds at most ${MAX_REUSED}, the oldest stored going first, a kept-again entry counting as new`, () => {
      const store = new ReusedOutcomes();
      for (let i = 0; i < MAX_REUSED; i++) store.keep(`image-${i}`, passed(1), []);
      store.keep('image-0', passed(1), []); // stored again: now the newest
      store.keep('one-more', passed(1), []);
      expect(store.size).toBe(MAX_REUSED);
      expect(store.get('image-0')).toBeDefined();
      expect(store.get('image-1')).toBeUndefined(); // the oldest went
      expect(store.get('image-2')).toBeDefined();
      expect(store.get('one-more')).toBeDefined();
    });
  });
});
