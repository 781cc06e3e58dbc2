/**
 * The evaluator, shared by the webhook, `imagegate check` and `imagegate review`: for each image, the
 * policies that govern it and each policy's checks, run against the registry. This is the one place
 * where thrown ImagegateErrors become findings; decision.ts then turns the findings into a verdict.
 */
import type { Check } from '../checks/check.js';
import { createImageFacts, type ImageFacts } from '../checks/facts.js';
import type { CheckKindName, CheckName } from '../checks/kinds.js';
import {
  decide,
  policyResult,
  type CheckOutcome,
  type ImageOutcome,
  type PolicyOutcome,
  type Verdict,
} from './decision.js';
import { ImagegateError, RegistryError, errorMessage } from '../errors.js';
import type { CompiledPolicy } from '../policy/compile.js';
import { effectiveMode } from '../policy/mode.js';
import type { ImageReference } from '../registry/reference.js';
import type { RegistryAccess, ResolvedImage } from '../registry/types.js';
import type { StillHolds } from './reused-outcomes.js';
import { applyExceptions, exceptionsFor } from './exempt.js';
import type { EngineSettings, EvaluationContext } from './context.js';
import { beginImage, mayReuseFor, reuseKey, reuseKeyBase, reuseStore } from './reuse-now.js';
import { nameFor, type ImageName } from './image-names.js';

export type {
  CheckOutcome,
  Exemption,
  ExemptedReason,
  EvaluationSettings,
  ImageOutcome,
  PolicyOutcome,
  PolicyResult,
  Reason,
  Unmatched,
  Verdict,
} from './decision.js';

export type { EngineSettings, EvaluationContext } from './context.js';

function toOutcome(check: CheckName, err: unknown, started: number): CheckOutcome {
  const durationMs = performance.now() - started;
  if (err instanceof ImagegateError) {
    return {
      check,
      passed: false,
      code: err.code,
      message: err.message,
      indeterminate: err.indeterminate,
      durationMs,
    };
  }
  if (err instanceof Error && err.name === 'AbortError') {
    return {
      check,
      passed: false,
      code: 'TIMEOUT',
      message: 'deadline reached',
      indeterminate: true,
      durationMs,
    };
  }
  // An unexpected exception is a bug, never "could not check": it fails closed whatever onError
  // says (registry content that could cause one is refused at the edge: registry/content.ts).
  return {
    check,
    passed: false,
    code: 'INTERNAL_ERROR',
    message: `imagegate failed unexpectedly (a bug; denied, whatever onError says): ${errorMessage(err)}`,
    durationMs,
  };
}

/** A check's outcome, and while it holds when the check marked its finding reusable. */
interface RanCheck {
  outcome: CheckOutcome;
  stillHolds?: StillHolds;
}

async function runCheck(
  check: Check<CheckKindName>,
  policy: CompiledPolicy,
  reference: ImageReference,
  resolved: ResolvedImage,
  ctx: EvaluationContext,
  facts: ImageFacts,
): Promise<RanCheck> {
  const started = performance.now();
  let outcome: CheckOutcome;
  let stillHolds: StillHolds | undefined;
  try {
    if (ctx.registry === undefined)
      throw new RegistryError('REGISTRY_UNAVAILABLE', 'no registry access', { indeterminate: true });
    const { reusable, ...finding } = await check.run({
      reference,
      resolved,
      registry: ctx.registry,
      platforms: policy.platforms,
      signal: ctx.signal,
      facts,
    });
    outcome = { ...finding, durationMs: finding.durationMs ?? performance.now() - started };
    stillHolds = reusable;
  } catch (err) {
    outcome = toOutcome(check.name, err, started);
  }
  ctx.onCheck?.(outcome.check, policy.name, (outcome.durationMs ?? 0) / 1000, outcome.passed);
  return stillHolds !== undefined ? { outcome, stillHolds } : { outcome };
}

async function evaluateImage(
  image: string,
  policies: readonly CompiledPolicy[],
  settings: EngineSettings,
  ctx: EvaluationContext,
  mayReuse: boolean,
): Promise<ImageOutcome> {
  let name: ImageName;
  try {
    name = nameFor(image, policies, settings.names, ctx.parse);
  } catch (err) {
    return { image, policies: [], invalid: toOutcome('reference', err, performance.now()) };
  }
  const begun = beginImage(image, name, policies, settings, ctx);
  const { outcome, governing } = begun;
  if (begun.done) return outcome;
  const { reference, repository, full } = name;
  const store = reuseStore(image, policies, settings, ctx, mayReuse);
  // (reuse-now.ts: the same lookup, synchronously, where the registry answers it from memory)
  const scope = store !== undefined ? ((await ctx.registry?.credentialScope?.(reference)) ?? '') : '';
  // a tag's outcome is looked up by the digest the registry's tag window names now (within tagTtl,
  // else undefined: the tag is asked again first), so a moved tag never finds the old digest's outcome
  const base = store !== undefined ? reuseKeyBase(begun, settings, scope) : '';
  const named =
    store === undefined ? undefined : (reference.digest ?? (await ctx.registry?.freshTag?.(reference)));
  const again = named !== undefined ? store?.get(reuseKey(begun, settings, scope, named)) : undefined;
  if (again !== undefined) {
    outcome.policies = again;
    outcome.digest = named;
    outcome.reused = true;
    return outcome;
  }
  // One test per finding of a check that ran; undefined once a finding is not reusable.
  let stillValid: StillHolds[] | undefined = [];

  // One resolution per image per review, shared by all policies: what is checked is what runs. Its
  // facts exist from the start, so checks of a pinned digest can start lookups beside the fetch.
  let pending: { resolved: Promise<ResolvedImage>; facts: ImageFacts } | undefined;
  const start = (registry: RegistryAccess): { resolved: Promise<ResolvedImage>; facts: ImageFacts } => {
    if (pending === undefined) {
      const resolved = registry.resolve(reference, ctx.signal).then((r) => {
        outcome.digest = r.digest;
        return r;
      });
      pending = { resolved, facts: createImageFacts({ reference, resolved, registry, signal: ctx.signal }) };
    }
    return pending;
  };

  outcome.policies = await Promise.all(
    governing.map(async (policy): Promise<PolicyOutcome> => {
      const findings: CheckOutcome[] = [];
      if (policy.requireDigest) {
        findings.push(
          reference.digest !== undefined
            ? { check: 'digest', passed: true, code: 'OK', message: `pinned to ${reference.digest}` }
            : {
                check: 'digest',
                passed: false,
                code: 'DIGEST_REQUIRED',
                message:
                  'referenced by tag only; the policy requires name@sha256:… (a tag can move between admission and pull)',
              },
        );
      }
      if (policy.checks.length > 0) {
        const started = performance.now();
        let checked: { resolved: ResolvedImage; facts: ImageFacts } | undefined;
        try {
          if (ctx.registry === undefined)
            throw new RegistryError('REGISTRY_UNAVAILABLE', 'no registry access', { indeterminate: true });
          const { resolved, facts } = start(ctx.registry);
          if (reference.digest !== undefined) {
            const early = {
              reference,
              registry: ctx.registry,
              platforms: policy.platforms,
              signal: ctx.signal,
              facts,
            };
            for (const c of policy.checks) c.prefetch?.(early);
          }
          checked = { resolved: await resolved, facts };
        } catch (err) {
          findings.push(toOutcome('resolve', err, started));
          stillValid = undefined;
        }
        if (checked !== undefined) {
          const { resolved, facts } = checked;
          const ran = await Promise.all(
            policy.checks.map((c) => runCheck(c, policy, reference, resolved, ctx, facts)),
          );
          for (const { outcome: found, stillHolds } of ran) {
            findings.push(found);
            if (stillHolds === undefined) stillValid = undefined;
            else stillValid?.push(stillHolds);
          }
        }
      }
      return {
        policy: policy.name,
        mode: effectiveMode(policy.mode, settings.modeOverride),
        onError: policy.onError,
        ...(policy.severity !== undefined ? { severity: policy.severity } : {}),
        result: policyResult(findings, policy.onError),
        findings,
      };
    }),
  );
  // kept under the digest the checks judged (a tag's, as this review resolved it)
  if (outcome.digest !== undefined) store?.keep(base + outcome.digest, outcome.policies, stillValid);
  // After keeping: only passing outcomes are reused, and an exception's expiry must be read each time.
  if (ctx.exceptions !== undefined && ctx.exceptions.exceptions.length > 0) {
    const names = new Set(policies.map((p) => p.name));
    const applicable = exceptionsFor(ctx.exceptions, ctx.namespace, repository, full, (n) => names.has(n));
    outcome.policies = applyExceptions(outcome.policies, applicable);
  }
  return outcome;
}

export async function evaluateImages(
  images: readonly string[],
  policies: readonly CompiledPolicy[],
  settings: EngineSettings,
  ctx: EvaluationContext,
): Promise<Verdict> {
  const unique = [...new Set(images)];
  // Reused outcomes skip the registry: only while the registry's image budget would have let the
  // checks run at all (a pod over it gets the same BUDGET_IMAGES answer as before).
  const mayReuse = mayReuseFor(unique.length, ctx);
  const outcomes = await Promise.all(
    unique.map((image) => evaluateImage(image, policies, settings, ctx, mayReuse)),
  );
  return decide(
    outcomes,
    // other namespaces' tenant policies say nothing about this one's unparsable references
    policies.filter((p) => p.tenant === undefined || p.tenant === ctx.namespace).map((p) => p.mode),
    settings,
  );
}
