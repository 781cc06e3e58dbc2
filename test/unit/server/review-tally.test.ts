import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../../src/server/metrics.js';
import { MAX_PENDING } from '../../../src/server/review-tally.js';

const pass = { policy: 'signed', result: 'pass', mode: 'enforce' };
const fail = { policy: 'small', result: 'fail', mode: 'audit' };

describe("a review's metrics, counted in the tally", () => {
  it('are at every scrape what one update per review would have made', async () => {
    const tallied = createMetrics();
    const direct = createMetrics();
    const reviews = [
      ['allowed', 'CREATE', 0.002, [{ policies: [pass, fail] }, { policies: [pass] }]],
      ['denied', 'UPDATE', 0.3, [{ policies: [fail] }]],
      ['allowed', 'CREATE', 0.0004, []],
    ] as const;
    const scrapes: string[][] = [];
    for (let round = 0; round < 2; round++) {
      for (const [decision, operation, seconds, images] of reviews) {
        tallied.reviewTally.review(decision, operation, seconds, images);
        direct.reviews.inc({ decision, operation });
        direct.reviewDuration.observe({ decision }, seconds);
        for (const i of images) for (const p of i.policies) direct.policyDecisions.inc(p);
      }
      // each scrape sees everything counted before it, and the next one adds to it
      scrapes.push([await tallied.registry.metrics(), await direct.registry.metrics()]);
    }
    for (const [a, b] of scrapes) expect(a).toBe(b);
    expect(scrapes[1]?.[0]).toContain('imagegate_reviews_total{decision="allowed",operation="CREATE"} 4');
    expect(scrapes[1]?.[0]).toContain(
      'imagegate_policy_decisions_total{policy="small",result="fail",mode="audit"} 4',
    );
    // a get() of one metric hands over what is pending too
    tallied.reviewTally.review('allowed', 'CREATE', 0.001, []);
    const values = (await tallied.reviews.get()).values;
    expect(values.find((v) => v.labels.operation === 'CREATE')?.value).toBe(5);
  });

  it(`keeps at most ${MAX_PENDING} durations unobserved when nothing scrapes`, async () => {
    const m = createMetrics();
    for (let i = 0; i < MAX_PENDING + 10; i++) m.reviewTally.review('allowed', 'CREATE', 0.001, []);
    // observed already, without a collection: read the histogram's own hash map (no collect)
    const observed = (m.reviewDuration as unknown as { hashMap: Record<string, { count: number }> }).hashMap;
    expect(Object.values(observed)[0]?.count).toBe(MAX_PENDING);
    const count = (await m.reviewDuration.get()).values.find((v) => v.metricName?.endsWith('_count'));
    expect(count?.value).toBe(MAX_PENDING + 10);
  });
});
