/**
 * /validate: images → (only changed ones on UPDATE) → evaluate → response. Throws AdmissionError
 * only for malformed reviews (the route answers 4xx).
 */
import type { RequestFacts } from '../admission/facts.js';
import { toAdmissionResponse, toAllowedResponse } from '../admission/response.js';
import { toAuditImages } from '../audit/record.js';
import { evaluateImages } from '../evaluate.js';
import { toReviewResult, type ReviewContext, type ReviewResult } from './result.js';

export async function validateRequest(facts: RequestFacts, context: ReviewContext): Promise<ReviewResult> {
  const { engine, signal, deadline, started } = context;
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
      ? await engine.namespaceLabels?.(namespace, signal)
      : undefined;
  const verdict = await evaluateImages(toCheck, policies, engine.settings, {
    namespace,
    signal,
    ...(namespaceLabels !== undefined ? { namespaceLabels } : {}),
    ...(registry !== undefined ? { registry } : {}),
    ...(engine.onCheck !== undefined ? { onCheck: engine.onCheck } : {}),
  });
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
