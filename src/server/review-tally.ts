/**
 * A review's metrics, counted here and handed to prom-client when it collects (a scrape of
 * /metrics, or any get()). prom-client hashes and validates the labels of every update: the four
 * updates of a cached review cost 8–15 µs of its CPU in the server (docs/benchmarks.md, issue 26
 * round 9), where counting them in a map costs a key. The totals are the same at every collection;
 * at most MAX_PENDING durations wait before they are observed, so memory stays bounded unscraped.
 */
import type { Counter, Histogram } from 'prom-client';

export const MAX_PENDING = 1024;

/** What one policy decided for one image (evaluate's PolicyOutcome fits). */
export interface PolicyLabels {
  policy: string;
  result: string;
  mode: string;
}

export class ReviewTally {
  readonly #reviews = new Map<string, { labels: { decision: string; operation: string }; n: number }>();
  readonly #policies = new Map<string, { labels: PolicyLabels; n: number }>();
  #decisions: string[] = [];
  #seconds: number[] = [];

  constructor(
    readonly reviews: Counter<'decision' | 'operation'>,
    readonly policyDecisions: Counter<'policy' | 'result' | 'mode'>,
    readonly reviewDuration: Histogram<'decision'>,
  ) {}

  /** One review: its decision, operation and duration, and each image's policy results. */
  review(
    decision: string,
    operation: string,
    seconds: number,
    images: ReadonlyArray<{ policies: readonly PolicyLabels[] }>,
  ): void {
    const key = `${decision}\n${operation}`;
    const counted = this.#reviews.get(key);
    if (counted !== undefined) counted.n++;
    else this.#reviews.set(key, { labels: { decision, operation }, n: 1 });
    for (const image of images) {
      for (const p of image.policies) {
        const k = `${p.policy}\n${p.result}\n${p.mode}`;
        const c = this.#policies.get(k);
        if (c !== undefined) c.n++;
        else this.#policies.set(k, { labels: { policy: p.policy, result: p.result, mode: p.mode }, n: 1 });
      }
    }
    this.#decisions.push(decision);
    this.#seconds.push(seconds);
    if (this.#seconds.length >= MAX_PENDING) this.#observe();
  }

  /** Hands everything counted so far to prom-client (its metrics' `collect`). */
  flush(): void {
    for (const { labels, n } of this.#reviews.values()) if (n > 0) this.reviews.inc(labels, n);
    for (const c of this.#reviews.values()) c.n = 0;
    for (const { labels, n } of this.#policies.values()) if (n > 0) this.policyDecisions.inc(labels, n);
    for (const c of this.#policies.values()) c.n = 0;
    this.#observe();
  }

  #observe(): void {
    const decisions = this.#decisions;
    const seconds = this.#seconds;
    this.#decisions = [];
    this.#seconds = [];
    for (let i = 0; i < seconds.length; i++)
      this.reviewDuration.observe({ decision: decisions[i]! }, seconds[i]!);
  }
}
