import { describe, expect, it, vi } from 'vitest';
import type { AuditRecord } from '../../../src/audit/record.js';
import type { Engine } from '../../../src/evaluate/engine.js';
import { KubeApiError } from '../../../src/errors.js';
import type { CompiledPolicy } from '../../../src/policy/compile.js';
import { DEADLINE_TICK_MS } from '../../../src/review/deadline.js';
import { DeadlineWatch, runReview, validateRequest, type ReviewHandler } from '../../../src/review/index.js';
import { podReview } from '../../helpers/admission-fixtures.js';

function engineWith(policies: Partial<CompiledPolicy>[]): Engine {
  return { policies: () => policies as CompiledPolicy[], settings: { unmatched: 'allow' } };
}

const failing: ReviewHandler = () => Promise.reject(new Error('boom'));
const enforceDeny = [{ name: 'strict', mode: 'enforce', onError: 'deny', checks: [] }] as const;

describe('runReview', () => {
  const deadlines = new DeadlineWatch();
  describe('when the body is not an AdmissionReview', () => {
    it('throws the AdmissionError and writes no record', async () => {
      const records: AuditRecord[] = [];
      await expect(
        runReview(
          { kind: 'Pod' },
          {
            engine: engineWith([]),
            handler: validateRequest,
            mayDeny: true,
            audit: { write: (r) => records.push(r) },
            deadlines,
          },
        ),
      ).rejects.toMatchObject({ code: 'NOT_ADMISSION_REVIEW' });
      expect(records).toEqual([]);
    });
  });

  describe('when the handler fails and an enforcing policy has onError: deny', () => {
    /** A review whose handler fails, with the audit records it wrote. */
    const failedReview = async (uid: string, mayDeny: boolean) => {
      const records: AuditRecord[] = [];
      const result = await runReview(podReview(['nginx:1'], { uid }), {
        engine: engineWith([...enforceDeny]),
        handler: failing,
        mayDeny,
        audit: { write: (r) => records.push(r) },
        deadlines,
      });
      return { result, records };
    };

    it('denies where it may deny, and writes exactly one record saying why', async () => {
      const { result, records } = await failedReview('run-1', true);
      expect(result.response).toEqual({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        response: {
          uid: 'run-1',
          allowed: false,
          status: {
            code: 403,
            reason: 'Forbidden',
            message: 'imagegate could not evaluate this request: boom',
          },
          auditAnnotations: { decision: 'denied', error: 'true' },
        },
      });
      expect(records).toEqual([result.record]);
      expect(result.record).toMatchObject({
        uid: 'run-1',
        decision: 'denied',
        skipped: 'imagegate could not evaluate this request: boom',
      });
    });

    it('allows with a warning where it may not deny (/mutate)', async () => {
      const { result, records } = await failedReview('run-2', false);
      expect(result.response.response).toMatchObject({
        allowed: true,
        warnings: ['imagegate: imagegate could not evaluate this request: boom (allowed)'],
      });
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({ uid: 'run-2', decision: 'allowed' });
    });
  });

  describe('when the handler fails with a bug and every enforcing policy has onError: allow', () => {
    it('fails closed: a bug is never "could not check"', async () => {
      const result = await runReview(podReview(['nginx:1'], { uid: 'run-bug' }), {
        engine: engineWith([{ name: 'lenient', mode: 'enforce', onError: 'allow', checks: [] }]),
        handler: () => Promise.reject(new TypeError("Cannot read properties of null (reading 'os')")),
        mayDeny: true,
        audit: { write: () => undefined },
        deadlines,
      });
      expect(result.response.response).toMatchObject({ uid: 'run-bug', allowed: false });
    });

    it('lets onError decide when a dependency gives up at the deadline (rejects with the abort reason)', async () => {
      const result = await runReview(podReview(['nginx:1'], { uid: 'run-deadline' }), {
        engine: engineWith([{ name: 'lenient', mode: 'enforce', onError: 'allow', checks: [] }]),
        handler: (_facts, ctx) =>
          new Promise((_resolve, reject) => {
            const signal = ctx.signal;
            signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
          }),
        mayDeny: true,
        timeoutMs: 300,
        deadlines,
        audit: { write: () => undefined },
      });
      expect(result.response.response).toMatchObject({ uid: 'run-deadline', allowed: true });
    });

    it('lets onError decide when a dependency was unavailable (an indeterminate coded error)', async () => {
      const result = await runReview(podReview(['nginx:1'], { uid: 'run-unavailable' }), {
        engine: engineWith([{ name: 'lenient', mode: 'enforce', onError: 'allow', checks: [] }]),
        handler: () =>
          Promise.reject(new KubeApiError('API_UNAVAILABLE', 'apiserver down', { indeterminate: true })),
        mayDeny: true,
        audit: { write: () => undefined },
        deadlines,
      });
      expect(result.response.response).toMatchObject({ uid: 'run-unavailable', allowed: true });
    });
  });

  describe('when the handler answers', () => {
    it('gives it the facts, a signal and a deadline within the timeout', async () => {
      const seen: unknown[] = [];
      const before = Date.now();
      await runReview(podReview(['nginx:1'], { uid: 'run-3', namespace: 'team' }), {
        engine: engineWith([]),
        timeoutMs: 2_000,
        handler: (facts, context) => {
          seen.push(facts.subject, context.signal.aborted, context.deadline - before);
          return validateRequest(facts, context);
        },
        mayDeny: true,
        audit: { write: () => undefined },
        deadlines,
      });
      expect(seen[0]).toBe('Pod team/web');
      expect(seen[1]).toBe(false);
      // budgetFor(2 s) is 1.5 s: the deadline is that far ahead (give or take the clock's granularity).
      expect(seen[2]).toBeGreaterThanOrEqual(1_500);
      expect(seen[2]).toBeLessThanOrEqual(1_500 + (Date.now() - before));
    });
  });

  describe('when the handler answers synchronously (a review decided from memory)', () => {
    it('writes its one record and watches no deadline', async () => {
      const watching = new DeadlineWatch();
      const watch = vi.spyOn(watching, 'watch');
      const records: AuditRecord[] = [];
      const result = await runReview(podReview(['nginx:1'], { uid: 'run-sync' }), {
        engine: engineWith([]),
        handler: validateRequest, // no policy has checks: decided without a promise
        mayDeny: true,
        audit: { write: (r) => records.push(r) },
        deadlines: watching,
      });
      expect(result.response.response).toMatchObject({ uid: 'run-sync', allowed: true });
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({ uid: 'run-sync', decision: 'allowed' });
      expect(watch).not.toHaveBeenCalled();
    });

    it('treats a synchronous throw as a rejection: a bug fails closed, a malformed pod is a 4xx', async () => {
      const records: AuditRecord[] = [];
      const options = {
        engine: engineWith([...enforceDeny]),
        mayDeny: true,
        audit: { write: (r: AuditRecord) => void records.push(r) },
        deadlines,
      };
      const bug = await runReview(podReview(['nginx:1'], { uid: 'run-throw' }), {
        ...options,
        handler: () => {
          throw new Error('boom');
        },
      });
      expect(bug.response.response).toMatchObject({ allowed: false });
      expect(records.map((r) => r.uid)).toEqual(['run-throw']);
      const noPod = podReview(['nginx:1'], { uid: 'run-nopod' });
      noPod.request.object = { kind: 'Pod', spec: 'not a pod spec' };
      await expect(runReview(noPod, { ...options, handler: validateRequest })).rejects.toMatchObject({
        code: 'NO_POD_SPEC',
      });
      expect(records).toHaveLength(1);
    });
  });

  describe('on its deadline watch', () => {
    it('aborts the signal at the budget and answers without the handler at the hard stop (a fake clock)', async () => {
      vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
      try {
        let now = 0;
        const watch = new DeadlineWatch(() => now);
        const records: AuditRecord[] = [];
        let signal: AbortSignal | undefined;
        const answer = runReview(podReview(['nginx:1'], { uid: 'run-4' }), {
          engine: engineWith([]),
          timeoutMs: 2_000, // budget 1.5 s, hard stop 1.5 s + (2 s − 1.5 s) / 2 = 1.75 s
          handler: (_facts, context) => {
            signal = context.signal;
            return new Promise(() => undefined); // ignores its signal
          },
          mayDeny: true,
          audit: { write: (r) => records.push(r) },
          deadlines: watch,
        });
        now = 1_499;
        vi.advanceTimersByTime(DEADLINE_TICK_MS);
        expect(signal?.aborted).toBe(false);
        now = 1_500;
        vi.advanceTimersByTime(DEADLINE_TICK_MS);
        expect(signal?.aborted).toBe(true);
        expect(records).toEqual([]);
        now = 1_750;
        vi.advanceTimersByTime(DEADLINE_TICK_MS);
        await answer;
        expect(records).toHaveLength(1);
        expect(records[0]!.skipped).toMatch(/no answer within the deadline \(1750 ms\)/);
        expect(watch.size).toBe(0);
      } finally {
        vi.useRealTimers();
      }
    });
  });

  describe('when the handler never reads the signal (as for a reused answer)', () => {
    it('makes no AbortController for the review; reading the signal makes one', async () => {
      const made = vi.spyOn(globalThis, 'AbortController');
      const base = { engine: engineWith([]), mayDeny: true, audit: { write: () => undefined }, deadlines };
      await runReview(podReview(['nginx:1'], { uid: 'run-5' }), { ...base, handler: validateRequest });
      expect(made).not.toHaveBeenCalled();
      await runReview(podReview(['nginx:1'], { uid: 'run-6' }), {
        ...base,
        handler: (facts, context) => {
          expect(context.signal.aborted).toBe(false);
          return validateRequest(facts, context);
        },
      });
      expect(made).toHaveBeenCalledTimes(1);
    });
  });
});
