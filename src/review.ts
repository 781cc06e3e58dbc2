/**
 * Orchestrates one admission review: images → (changed on UPDATE) → evaluate → response + the one
 * audit record. Throws AdmissionError only for malformed reviews (the route answers 4xx).
 */
import { imagesOf, objectName, podSpecOf, pullIdentityOf } from './admission/pod-spec.js';
import type { AdmissionReviewRequest, AdmissionReviewResponse } from './admission/review.schema.js';
import { toAdmissionResponse, toAllowedResponse } from './admission/response.js';
import type { AuditRecord } from './audit/record.js';
import { elapsedMs, toAuditImages, toRecordBase } from './audit/record.js';
import type { Engine } from './engine.js';
import { evaluateImages, type Verdict } from './evaluate.js';

export interface ReviewResult {
  response: AdmissionReviewResponse;
  record: AuditRecord;
  verdict?: Verdict;
}

export async function reviewAdmission(
  review: AdmissionReviewRequest,
  engine: Engine,
  signal: AbortSignal,
  deadline?: number,
): Promise<ReviewResult> {
  const started = performance.now();
  const req = review.request;
  const kind = req.kind.kind;
  const namespace = req.namespace ?? '';
  const name = objectName(req.object ?? req.oldObject, req.name);
  const subject = `${kind} ${namespace === '' ? '' : `${namespace}/`}${name}`;
  const base = toRecordBase(req, engine.settings.modeOverride);
  const finish = (
    response: AdmissionReviewResponse,
    verdict: Verdict | undefined,
    skipped?: string,
  ): ReviewResult => ({
    response,
    verdict,
    record: {
      ...base,
      decision: response.response.allowed ? 'allowed' : 'denied',
      wouldDeny: verdict?.wouldDeny ?? false,
      ...(skipped !== undefined ? { skipped } : {}),
      images: toAuditImages(verdict),
      latencyMs: elapsedMs(started),
    },
  });

  if (req.operation === 'DELETE' || req.operation === 'CONNECT') {
    const why = `operation ${req.operation} is not checked`;
    return finish(toAllowedResponse(req.uid, why), undefined, why);
  }

  const images = imagesOf(kind, req.object);
  let toCheck = images.map((i) => i.image);
  if (req.operation === 'UPDATE' && req.oldObject !== undefined && req.oldObject !== null) {
    // Only images that changed: an unchanged image was admitted before (and re-checking it would let
    // a policy change block unrelated updates such as scaling).
    let previous: Set<string>;
    try {
      previous = new Set(imagesOf(kind, req.oldObject).map((i) => i.image));
    } catch {
      previous = new Set();
    }
    toCheck = toCheck.filter((image) => !previous.has(image));
    if (toCheck.length === 0) {
      const why = 'no image changed';
      return finish(toAllowedResponse(req.uid, why), undefined, why);
    }
  }

  const policies = engine.policies();
  // Registry access (and, in the cluster, reading the pod's pull secrets) only when a check needs it.
  const registry = policies.some((p) => p.checks.length > 0)
    ? await engine.registry?.({
        ...(deadline !== undefined ? { deadline } : {}),
        namespace,
        ...pullIdentityOf(podSpecOf(kind, req.object).spec),
      })
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
  return finish(toAdmissionResponse(req.uid, verdict, subject), verdict);
}
