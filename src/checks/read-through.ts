/**
 * What both verification caches share (signature verdicts, attestation evidence): a cached result,
 * else one verification per key shared with concurrent callers, whose value the subclass's `set`
 * then keeps or drops (each keeps only what verified, for `ttlMs`). Subclasses say how results are
 * stored and bounded: entries (verdicts) or bytes (evidence).
 */
import { SingleFlight } from '../registry/cache.js';

export abstract class ReadThroughCache<Stored, Result> {
  readonly #flights = new SingleFlight();

  constructor(readonly ttlMs: number) {}

  abstract get(key: string): Result | undefined;
  abstract set(key: string, value: Stored): void;
  /** What a fresh verification returns to its callers. */
  protected abstract resultOf(value: Stored): Result;

  /** The cached result, or `verify`'s, shared with concurrent callers of the same key. */
  async verify(
    key: string,
    signal: AbortSignal,
    verify: (signal: AbortSignal) => Promise<Stored>,
  ): Promise<Result> {
    const hit = this.get(key);
    if (hit !== undefined) return hit;
    return this.#flights.do(key, signal, async (s) => {
      const value = await verify(s);
      this.set(key, value);
      return this.resultOf(value);
    });
  }
}
