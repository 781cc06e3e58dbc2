/**
 * Deadline: with a registry that never answers, every review is answered before the API server's
 * `?timeout=` runs out, with the policy's onError decision and a message that says why.
 */
import { describe, expect, it } from 'vitest';
import { podReview } from '../helpers/admission-fixtures.js';
import { useWebhookRig, type WebhookRig } from '../helpers/webhook-rig.js';

const TIMEOUT_MS = 3_000;

interface Answer {
  ms: number;
  status: number;
  uid: string;
  response: { uid: string; allowed: boolean; status?: { message?: string }; warnings?: string[] };
}

async function stalledReviews(rig: WebhookRig, n: number): Promise<Answer[]> {
  const images = await Promise.all(Array.from({ length: n }, (_, i) => rig.image(`stalled/app${i}`)));
  rig.proxy.inject(/./, { kind: 'stall' });
  return Promise.all(
    images.map(async (image) => {
      const body = podReview([image]);
      const started = performance.now();
      const reply = await rig.server.post(`/validate?timeout=${TIMEOUT_MS / 1000}s`, body);
      return {
        ms: performance.now() - started,
        status: reply.status,
        uid: body.request.uid,
        response: (reply.json as { response: Answer['response'] }).response,
      };
    }),
  );
}

describe('resilience: deadline', () => {
  describe('when the registry stalls and the policy fails closed (onError: deny)', () => {
    const rig = useWebhookRig('deny');

    it('denies every review before the timeout, saying the deadline was reached', async () => {
      const answers = await stalledReviews(rig, 8);
      for (const a of answers) {
        expect(a.status).toBe(200);
        expect(a.response.uid).toBe(a.uid);
        expect(a.response.allowed).toBe(false);
        expect(a.response.status?.message).toMatch(/deadline/i);
        // The contract: an answer before the API server gives up (?timeout=3s). imagegate's budget
        // ends at 2.5 s (the timeout less 10%, at least 500 ms), so the rest is slack for a busy machine.
        expect(a.ms).toBeLessThan(TIMEOUT_MS);
      }
      expect(rig.server.audit.filter((r) => r.decision === 'denied')).toHaveLength(8);
    });
  });

  describe('when the registry stalls and the policy fails open (onError: allow)', () => {
    const rig = useWebhookRig('allow');

    it('allows every review before the timeout with a warning naming the deadline', async () => {
      const answers = await stalledReviews(rig, 8);
      for (const a of answers) {
        expect(a.response.allowed).toBe(true);
        // Either the request reached the stalled registry and hit the deadline, or it queued behind
        // the registry's own connection slots (maxConnectionsPerRegistry) until the deadline: both
        // mean "this registry is too slow", so onError decides (only the shared total fails closed).
        expect(a.response.warnings?.join(' ')).toMatch(/deadline|BUDGET_CONNECTIONS/i);
        expect(a.ms).toBeLessThan(TIMEOUT_MS);
      }
    });
  });
});
