/**
 * Reused outcomes: a digest-pinned image that passed every governing policy with findings their
 * checks marked reusable (Finding.reusable: e.g. the verdict cache still holds the verdict) is
 * answered from here while every one of them still says so, without running the checks: the
 * cached decision's path (evaluate.ts). One store per policy set (a reload makes a new set), keyed
 * by the mode override, which policies govern the image (namespace selection) and the image;
 * failures and indeterminate answers are never kept. At most MAX_REUSED entries per policy set,
 * oldest stored out first.
 */
import type { CheckOutcome, PolicyOutcome } from './decision.js';
import type { CompiledPolicy } from '../policy/compile.js';

interface Reuse {
  policies: readonly PolicyOutcome[];
  stillValid: readonly (() => boolean)[];
}

const MAX_REUSED = 4096;
const validity = new WeakMap<CheckOutcome, () => boolean>();
const stores = new WeakMap<readonly CompiledPolicy[], ReusedOutcomes>();

/** Records that `outcome` (a check's finding) holds while `valid` says so. */
export function markReusable(outcome: CheckOutcome, valid: () => boolean): void {
  validity.set(outcome, valid);
}

export class ReusedOutcomes {
  readonly #entries = new Map<string, Reuse>();

  /** The store of one policy set. */
  static for(policies: readonly CompiledPolicy[]): ReusedOutcomes {
    let store = stores.get(policies);
    if (store === undefined) {
      store = new ReusedOutcomes();
      stores.set(policies, store);
    }
    return store;
  }

  /** `matching`: the policies whose globs match the image; `governing`: those of them in force. */
  static key(
    image: string,
    matching: readonly CompiledPolicy[],
    governing: readonly CompiledPolicy[],
    mode: string,
  ): string {
    const which =
      governing.length === matching.length ? '*' : governing.map((p) => matching.indexOf(p)).join(',');
    return `${mode}\n${which}\n${image}`;
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

  /** Keeps `policies` when every policy passed and every check's finding is reusable. */
  keep(key: string, policies: readonly PolicyOutcome[]): void {
    const stillValid: (() => boolean)[] = [];
    for (const p of policies) {
      if (p.result !== 'pass') return;
      for (const f of p.findings) {
        if (f.durationMs === undefined) continue; // requireDigest: decided without running anything
        const valid = validity.get(f);
        if (valid === undefined) return;
        stillValid.push(valid);
      }
    }
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
    this.#entries.delete(key);
    this.#entries.set(key, { policies: kept, stillValid });
    if (this.#entries.size > MAX_REUSED) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
  }
}
