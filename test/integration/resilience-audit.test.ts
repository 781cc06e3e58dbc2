/**
 * Audit completeness under load: with reviews arriving concurrently (cached, cold, unsigned, and some
 * hitting registry faults), every answered review has exactly one audit record, with its own uid and
 * the decision it was answered with.
 */
import { describe, expect, it } from 'vitest';
import { podReview } from '../helpers/admission-fixtures.js';
import { useWebhookRig } from '../helpers/webhook-rig.js';

describe('resilience: audit completeness under load', () => {
  const rig = useWebhookRig('deny', { connections: 32 });

  it('writes one record per answered review, each with the right uid and decision', async () => {
    const signed = await Promise.all(Array.from({ length: 6 }, (_, i) => rig.image(`audit/signed${i}`)));
    const unsigned = await rig.image('audit/unsigned', false);
    const flaky = await rig.image('audit/flaky');
    // A third of the requests for the flaky image's manifest fail.
    rig.proxy.inject(new RegExp(`manifests/${flaky.split('@')[1]}`), { kind: 'status', status: 500 }, 40);
    const bodies = Array.from({ length: 600 }, (_, i) => {
      const image = i % 10 === 0 ? unsigned : i % 7 === 0 ? flaky : signed[i % signed.length]!;
      return podReview([image], { uid: `audit-${i}-${Math.random().toString(36).slice(2)}` });
    });
    const answers = new Map<string, boolean>();
    await Promise.all(
      bodies.map(async (body) => {
        const reply = await rig.server.post('/validate?timeout=5s', body);
        expect(reply.status).toBe(200);
        const response = (reply.json as { response: { uid: string; allowed: boolean } }).response;
        expect(response.uid).toBe(body.request.uid);
        answers.set(response.uid, response.allowed);
      }),
    );
    expect(answers.size).toBe(bodies.length);
    const records = rig.server.audit;
    expect(records).toHaveLength(bodies.length);
    const byUid = new Map(records.map((r) => [r.uid, r]));
    expect(byUid.size).toBe(bodies.length);
    for (const [uid, allowed] of answers) {
      expect(byUid.get(uid)?.decision).toBe(allowed ? 'allowed' : 'denied');
    }
    expect([...answers.values()].filter((a) => !a).length).toBeGreaterThanOrEqual(60);
  });
});
