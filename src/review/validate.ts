/**
 * /validate: images → (only changed ones on UPDATE) → evaluate → response. Throws (or rejects with)
 * AdmissionError only for malformed reviews (the route answers 4xx).
 */
import type { RequestFacts } from '../admission/facts.js';
import { toAdmissionResponse, toAllowedResponse } from '../admission/response.js';
import { toAuditImages } from '../audit/record.js';
import type { Engine, RequestScope } from '../evaluate/engine.js';
import { evaluateImages, type EvaluationContext, type Verdict } from '../evaluate/evaluate.js';
import { reusedVerdict } from '../evaluate/reuse-now.js';
import type { RegistryAccess } from '../registry/types.js';
import { toReviewResult, type ReviewContext, type ReviewResult } from './result.js';

/**
 * The evaluation's context: the review's signal is read only by checks that run (reused outcomes
 * need none, and it is made on first read). A class, for the reason given at run.ts ReviewDeadline.
 */
class ReviewEvaluation implements EvaluationContext {
  namespaceLabels?: Record<string, string>;
  registry?: RegistryAccess;
  onCheck?: EvaluationContext['onCheck'];
  exceptions?: EvaluationContext['exceptions'];

  constructor(
    readonly namespace: string,
    readonly review: ReviewContext,
  ) {}

  get signal(): AbortSignal {
    return this.review.signal;
  }
}

/**
 * Synchronous when every image is answered from memory (reused outcomes: evaluate/reuse-now.ts),
 * with no promise or microtask per review; otherwise the promise of the evaluation.
 */
export function validateRequest(
  facts: RequestFacts,
  context: ReviewContext,
): ReviewResult | Promise<ReviewResult> {
  const { engine, started } = context;
  if (facts.operation === 'DELETE' || facts.operation === 'CONNECT') {
    return skip(facts, engine, started, `operation ${facts.operation} is not checked`);
  }
  let toCheck = facts.images().map((i) => i.image);
  const previous = facts.operation === 'UPDATE' ? facts.previousImages() : undefined;
  if (previous !== undefined) {
    // Only images that changed: an unchanged image was admitted before (and re-checking it would let
    // a policy change block unrelated updates such as scaling).
    toCheck = toCheck.filter((image) => !previous.has(image));
    if (toCheck.length === 0) return skip(facts, engine, started, 'no image changed');
  }
  const policies = engine.policies();
  const { namespace } = facts;
  const needsLabels = namespace !== '' && policies.some((p) => p.usesNamespaceLabels);
  // Registry access (and, in the cluster, reading the pod's pull secrets) only when a check needs it.
  const needsRegistry = policies.some((p) => p.checks.length > 0);
  if (needsLabels || (needsRegistry && engine.registryNow === undefined)) {
    return evaluated(facts, context, toCheck, needsRegistry, needsLabels);
  }
  const registry = needsRegistry ? engine.registryNow?.(accessScope(facts, context)) : undefined;
  const evaluation = toEvaluation(facts, context, registry, undefined);
  const verdict = reusedVerdict(toCheck, policies, engine.settings, evaluation);
  if (verdict === undefined) return finish(facts, context, toCheck, evaluation);
  registry?.release?.();
  return toResult(facts, context, verdict);
}

/** The same evaluation, with the registry access and namespace labels awaited. */
async function evaluated(
  facts: RequestFacts,
  context: ReviewContext,
  toCheck: readonly string[],
  needsRegistry: boolean,
  needsLabels: boolean,
): Promise<ReviewResult> {
  const { engine } = context;
  const registry = needsRegistry ? await engine.registry?.(accessScope(facts, context)) : undefined;
  const namespaceLabels = needsLabels
    ? await engine.namespaceLabels?.(facts.namespace, context.signal)
    : undefined;
  return finish(facts, context, toCheck, toEvaluation(facts, context, registry, namespaceLabels));
}

/** Runs the evaluation (checks where nothing can be reused) and answers. */
async function finish(
  facts: RequestFacts,
  context: ReviewContext,
  toCheck: readonly string[],
  evaluation: ReviewEvaluation,
): Promise<ReviewResult> {
  const { engine } = context;
  const verdict = await evaluateImages(toCheck, engine.policies(), engine.settings, evaluation);
  evaluation.registry?.release?.(); // answered: this review's registry bytes no longer count against the budget
  return toResult(facts, context, verdict);
}

function accessScope(facts: RequestFacts, context: ReviewContext): RequestScope {
  return { deadline: context.deadline, namespace: facts.namespace, ...facts.pullIdentity() };
}

function toEvaluation(
  facts: RequestFacts,
  context: ReviewContext,
  registry: RegistryAccess | undefined,
  namespaceLabels: Record<string, string> | undefined,
): ReviewEvaluation {
  const { engine } = context;
  const evaluation = new ReviewEvaluation(facts.namespace, context);
  if (namespaceLabels !== undefined) evaluation.namespaceLabels = namespaceLabels;
  if (registry !== undefined) evaluation.registry = registry;
  if (engine.onCheck !== undefined) evaluation.onCheck = engine.onCheck;
  const exceptions = engine.exceptions?.();
  if (exceptions !== undefined && exceptions.length > 0)
    evaluation.exceptions = { exceptions, workload: facts.workload(), now: (engine.now ?? Date.now)() };
  return evaluation;
}

function skip(facts: RequestFacts, engine: Engine, started: number, why: string): ReviewResult {
  const mode = engine.settings.modeOverride;
  return toReviewResult(facts, toAllowedResponse(facts.uid, why), {
    wouldDeny: false,
    skipped: why,
    images: [],
    started,
    ...(mode !== undefined ? { mode } : {}),
  });
}

function toResult(facts: RequestFacts, context: ReviewContext, verdict: Verdict): ReviewResult {
  const mode = context.engine.settings.modeOverride;
  return toReviewResult(
    facts,
    toAdmissionResponse(facts.uid, verdict, facts.subject),
    {
      wouldDeny: verdict.wouldDeny,
      images: toAuditImages(verdict),
      started: context.started,
      ...(mode !== undefined ? { mode } : {}),
    },
    verdict,
  );
}
