/**
 * /validate: images → (only changed ones on UPDATE) → evaluate → response. Throws AdmissionError
 * only for malformed reviews (the route answers 4xx).
 */
import type { RequestFacts } from '../admission/facts.js';
import { toAdmissionResponse, toAllowedResponse } from '../admission/response.js';
import { toAuditImages } from '../audit/record.js';
import { evaluateImages, type EvaluationContext } from '../evaluate/evaluate.js';
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

export async function validateRequest(facts: RequestFacts, context: ReviewContext): Promise<ReviewResult> {
  const { engine, deadline, started } = context;
  const mode = engine.settings.modeOverride;
  const skip = (why: string): ReviewResult =>
    toReviewResult(facts, toAllowedResponse(facts.uid, why), {
      wouldDeny: false,
      skipped: why,
      images: [],
      started,
      ...(mode !== undefined ? { mode } : {}),
    });

  if (facts.operation === 'DELETE' || facts.operation === 'CONNECT') {
    return skip(`operation ${facts.operation} is not checked`);
  }
  let toCheck = facts.images().map((i) => i.image);
  const previous = facts.operation === 'UPDATE' ? facts.previousImages() : undefined;
  if (previous !== undefined) {
    // Only images that changed: an unchanged image was admitted before (and re-checking it would let
    // a policy change block unrelated updates such as scaling).
    toCheck = toCheck.filter((image) => !previous.has(image));
    if (toCheck.length === 0) return skip('no image changed');
  }

  const policies = engine.policies();
  const { namespace } = facts;
  // Registry access (and, in the cluster, reading the pod's pull secrets) only when a check needs it.
  const registry = policies.some((p) => p.checks.length > 0)
    ? await engine.registry?.({ deadline, namespace, ...facts.pullIdentity() })
    : undefined;
  const namespaceLabels =
    namespace !== '' && policies.some((p) => p.usesNamespaceLabels)
      ? await engine.namespaceLabels?.(namespace, context.signal)
      : undefined;
  const evaluation = new ReviewEvaluation(namespace, context);
  if (namespaceLabels !== undefined) evaluation.namespaceLabels = namespaceLabels;
  if (registry !== undefined) evaluation.registry = registry;
  if (engine.onCheck !== undefined) evaluation.onCheck = engine.onCheck;
  const exceptions = engine.exceptions?.();
  if (exceptions !== undefined && exceptions.length > 0)
    evaluation.exceptions = { exceptions, workload: facts.workload(), now: (engine.now ?? Date.now)() };
  const verdict = await evaluateImages(toCheck, policies, engine.settings, evaluation);
  registry?.release?.(); // answered: this review's registry bytes no longer count against the budget
  return toReviewResult(
    facts,
    toAdmissionResponse(facts.uid, verdict, facts.subject),
    {
      wouldDeny: verdict.wouldDeny,
      images: toAuditImages(verdict),
      started,
      ...(mode !== undefined ? { mode } : {}),
    },
    verdict,
  );
}
