/**
 * Reused outcomes: an image that passed every governing policy with findings their checks marked
 * reusable (Finding.reusable: e.g. the verdict cache still holds the verdict) is answered from here
 * while every one of them still says so, without running the checks: the cached decision's path
 * (evaluate.ts). Kept per digest: a tag's outcome is found only while the registry's tag window
 * (tagTtl) names that digest. The engine owns them (OutcomeReuse: two engines in one
 * process share nothing); one store per policy set (a reload makes a new set), keyed
 * by the mode override, which policies govern the image (namespace selection) and the image;
 * failures and indeterminate answers are never kept. At most MAX_REUSED entries per policy set,
 * oldest stored out first (shared/cache.ts's TtlCache, without expiry).
 */
import type { PolicyOutcome } from './decision.js';
import type { CompiledPolicy } from '../policy/compile.js';
import { TtlCache } from '../shared/cache.js';

/** Whether a kept finding still holds (the check's own `reusable`), asked before each reuse. */
export type StillHolds = () => boolean;

interface Reuse {
  policies: readonly PolicyOutcome[];
  stillValid: readonly StillHolds[];
}

export const MAX_REUSED = 4096;

/** One engine's reused outcomes: a store per policy set, gone with the set (or the engine). */
export class OutcomeReuse {
  readonly #stores = new WeakMap<readonly CompiledPolicy[], ReusedOutcomes>();

  /** The store of one policy set. */
  for(policies: readonly CompiledPolicy[]): ReusedOutcomes {
    let store = this.#stores.get(policies);
    if (store === undefined) {
      store = new ReusedOutcomes();
      this.#stores.set(policies, store);
    }
    return store;
  }
}

export class ReusedOutcomes {
  readonly #entries = new TtlCache<Reuse>(MAX_REUSED);

  /** `matching`: the policies whose globs match the image; `governing`: those of them in force. */
  static key(
    image: string,
    matching: readonly CompiledPolicy[],
    governing: readonly CompiledPolicy[],
    mode: string,
  ): string {
    return `${mode}\n${ReusedOutcomes.which(matching, governing)}\n${image}`;
  }

  /** Which of the matching policies govern: `*` for all of them, else their indices. */
  static which(matching: readonly CompiledPolicy[], governing: readonly CompiledPolicy[]): string {
    return governing.length === matching.length ? '*' : governing.map((p) => matching.indexOf(p)).join(',');
  }

  /**
   * The kept outcome's policies, the same frozen objects every time (the audit record's builder and
   * serialiser then reuse their work for them too), while every finding is still valid; a stale
   * entry is dropped. A reused check did not run: its durationMs is 0.
   */
  get(key: string): readonly PolicyOutcome[] | undefined {
    const hit = this.#entries.get(key);
    if (hit === undefined) return undefined;
    if (hit.stillValid.every((valid) => valid())) return hit.policies;
    this.#entries.delete(key);
    return undefined;
  }

  /**
   * Keeps `policies` when every policy passed. `stillValid` holds one test per finding that ran a
   * check (findings decided from the reference alone, as requireDigest's, need none); the evaluator
   * passes undefined when some check's finding is not reusable.
   */
  keep(key: string, policies: readonly PolicyOutcome[], stillValid: readonly StillHolds[] | undefined): void {
    if (stillValid === undefined || policies.some((p) => p.result !== 'pass')) return;
    const kept = Object.freeze(
      policies.map((p) =>
        Object.freeze({
          ...p,
          findings: Object.freeze(
            p.findings.map((f) => Object.freeze(f.durationMs === undefined ? f : { ...f, durationMs: 0 })),
          ),
        }),
      ),
    );
    this.#entries.set(key, { policies: kept, stillValid }, Number.POSITIVE_INFINITY);
  }

  /** Entries held (at most MAX_REUSED). */
  get size(): number {
    return this.#entries.size;
  }
}
