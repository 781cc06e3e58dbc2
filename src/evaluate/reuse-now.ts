/**
 * The cached path without promises: a review whose every image is answered from reused outcomes
 * (reused-outcomes.ts) is decided here synchronously, with no async frame, promise or microtask per
 * image; any other review goes through evaluateImages (evaluate.ts), which does the same lookups
 * asynchronously before running checks. Both share the steps below, so the lookup is the same one:
 * the image's name and governing policies, the unmatched rule, the reuse key (mode, governing
 * policies, image, credential scope) and the digest (a pinned one, or the tag window's within
 * tagTtl, for the credential this review sends: a moved tag is never answered from the old
 * digest's outcome). Synchronous only where the registry access answers the scope and the tag
 * window from memory (credentialScopeNow, freshTagNow); otherwise undefined, and the caller awaits.
 */
import { decide, type ImageOutcome, type Verdict } from './decision.js';
import type { CompiledPolicy } from '../policy/compile.js';
import { decideUnmatched } from '../policy/unmatched.js';
import type { EngineSettings, EvaluationContext } from './context.js';
import { nameFor, type ImageName } from './image-names.js';
import { ReusedOutcomes } from './reused-outcomes.js';

/** An image's first step: its name, the policies that govern it here, and its outcome so far. */
export interface Begun {
  outcome: ImageOutcome;
  name: ImageName;
  governing: readonly CompiledPolicy[];
  /** Decided already: no policy governs it (the unmatched rule's outcome). */
  done: boolean;
}

/** The policies of `matching` that govern in this namespace: `matching` itself (no copy) when all do. */
function governingOf(matching: readonly CompiledPolicy[], ctx: EvaluationContext): readonly CompiledPolicy[] {
  for (const p of matching) {
    if (!p.matchesNamespace(ctx.namespace, ctx.namespaceLabels))
      return matching.filter((q) => q.matchesNamespace(ctx.namespace, ctx.namespaceLabels));
  }
  return matching;
}

/** The policies that govern `image` (named: nameFor) here, and the unmatched rule's outcome. */
export function beginImage(
  image: string,
  name: ImageName,
  policies: readonly CompiledPolicy[],
  settings: EngineSettings,
  ctx: EvaluationContext,
): Begun {
  const { reference, full, repository } = name;
  const governing = governingOf(name.matching, ctx);
  const outcome: ImageOutcome = { image, reference: full, policies: [] };
  if (reference.digest !== undefined) outcome.digest = reference.digest;
  // A tenant's policy (policy/tenant.ts) adds findings but never governs for the unmatched rule.
  if (!governing.some((p) => p.tenant === undefined)) {
    // Decided per image (namespace, exclusions, the operator's override): policy/unmatched.ts.
    const d = decideUnmatched(
      policies.filter((p) => p.tenant === undefined),
      { repository, full },
      { name: ctx.namespace, ...(ctx.namespaceLabels !== undefined ? { labels: ctx.namespaceLabels } : {}) },
      settings,
    );
    outcome.unmatched = d.action;
    outcome.unmatchedMessage = d.message;
    if (d.exempt !== undefined) outcome.exempt = d.exempt;
    return { outcome, name, governing, done: governing.length === 0 };
  }
  return { outcome, name, governing, done: false };
}

/**
 * The store of reused outcomes an image may be answered from: only in the webhook's and the audit's
 * own parsing (not `oci:` layouts), and only where the registry's image budget would have let the
 * checks run (`mayReuse`).
 */
export function reuseStore(
  image: string,
  policies: readonly CompiledPolicy[],
  settings: EngineSettings,
  ctx: EvaluationContext,
  mayReuse: boolean,
): ReusedOutcomes | undefined {
  return ctx.parse === undefined && image.length <= 512 && mayReuse
    ? settings.reuse?.for(policies)
    : undefined;
}

/**
 * The reuse key without its digest: kept per credential (an outcome read with one namespace's pull
 * secret answers only reviews that would send the same one; anonymous outcomes answer everyone who
 * also has none), and per digest after it.
 */
export function reuseKeyBase(begun: Begun, settings: EngineSettings, scope: string): string {
  const { outcome, name, governing } = begun;
  return `${ReusedOutcomes.key(outcome.image, name.matching, governing, settings.modeOverride ?? '')}\n${scope}\n`;
}

/** The last lookup key made per image name, with what it was made of. */
interface KeyMemo {
  mode: string;
  which: string;
  scope: string;
  named: string;
  key: string;
}

/**
 * The last key per image name (names are the engine's memo: the same object every review). The same
 * key string each time is hashed once: built anew, its ~150 characters were joined and hashed for
 * every lookup (the store's `get` was a tenth of a cached review's CPU).
 */
const lastKeys = new WeakMap<ImageName, KeyMemo>();

/** reuseKeyBase(begun, settings, scope) + named: the key a reused outcome is looked up by. */
export function reuseKey(begun: Begun, settings: EngineSettings, scope: string, named: string): string {
  const { name, governing } = begun;
  const mode = settings.modeOverride ?? '';
  const which = ReusedOutcomes.which(name.matching, governing);
  const last = lastKeys.get(name);
  if (
    last !== undefined &&
    last.named === named &&
    last.scope === scope &&
    last.which === which &&
    last.mode === mode
  )
    return last.key;
  const key = reuseKeyBase(begun, settings, scope) + named;
  lastKeys.set(name, { mode, which, scope, named, key });
  return key;
}

/** Whether reused outcomes may answer a review of `unique` images (evaluateImages's rule). */
export function mayReuseFor(unique: number, ctx: EvaluationContext): boolean {
  const max = ctx.registry?.limits?.maxImagesPerReview;
  return ctx.registry !== undefined && (max === undefined || unique <= max);
}

/** One image's outcome from memory alone, or undefined when the lookup needs the registry. */
function reusedNow(
  image: string,
  policies: readonly CompiledPolicy[],
  settings: EngineSettings,
  ctx: EvaluationContext,
  mayReuse: boolean,
): ImageOutcome | undefined {
  let name: ImageName;
  try {
    name = nameFor(image, policies, settings.names, ctx.parse);
  } catch {
    return undefined; // an invalid reference: evaluateImage reports it
  }
  const begun = beginImage(image, name, policies, settings, ctx);
  if (begun.done) return begun.outcome;
  const store = reuseStore(image, policies, settings, ctx, mayReuse);
  const registry = ctx.registry;
  if (store === undefined || registry === undefined) return undefined;
  const { reference } = begun.name;
  const scope = registry.credentialScopeNow?.(reference);
  if (scope === undefined) return undefined;
  const named = reference.digest ?? registry.freshTagNow?.(reference, scope);
  if (named === undefined) return undefined;
  const again = store.get(reuseKey(begun, settings, scope, named));
  if (again === undefined) return undefined;
  const { outcome } = begun;
  outcome.policies = again;
  outcome.digest = named;
  outcome.reused = true;
  return outcome;
}

/**
 * The verdict on `images` when every one of them is answered from memory (reused outcomes, or no
 * policy governing it); undefined when any needs the registry or a check (then evaluateImages).
 */
export function reusedVerdict(
  images: readonly string[],
  policies: readonly CompiledPolicy[],
  settings: EngineSettings,
  ctx: EvaluationContext,
): Verdict | undefined {
  // a pod's few images deduplicated without a Set (its hash table was most of this function's bytes)
  const unique =
    images.length <= 16 ? images.filter((x, i) => images.indexOf(x) === i) : [...new Set(images)];
  const mayReuse = mayReuseFor(unique.length, ctx);
  const outcomes: ImageOutcome[] = [];
  for (const image of unique) {
    const outcome = reusedNow(image, policies, settings, ctx, mayReuse);
    if (outcome === undefined) return undefined;
    outcomes.push(outcome);
  }
  return decide(
    outcomes,
    // other namespaces' tenant policies say nothing about this one's unparsable references
    policies.filter((p) => p.tenant === undefined || p.tenant === ctx.namespace).map((p) => p.mode),
    settings,
  );
}
