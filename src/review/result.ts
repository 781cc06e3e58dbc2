/**
 * What every review handler receives and returns. A handler (validate, mutate) decides; the runner
 * (run.ts) owns parsing, the deadline, the fallback answer and writing the one audit record.
 */
import type { RequestFacts } from '../admission/facts.js';
import type { AdmissionReviewResponse } from '../admission/review.schema.js';
import { toAuditRecord, type AuditRecord, type RecordFacts, type RecordOutcome } from '../audit/record.js';
import type { Engine } from '../evaluate/engine.js';
import type { Verdict } from '../evaluate/evaluate.js';

export interface ReviewResult {
  response: AdmissionReviewResponse;
  record: AuditRecord;
  /** The policy verdict, when policies were evaluated (for metrics). */
  verdict?: Verdict;
}

export interface ReviewContext {
  engine: Engine;
  /**
   * Aborted when the review's budget ends. Made on first read (run.ts): read it where it is used,
   * not up front (a review answered from reused outcomes never needs one).
   */
  readonly signal: AbortSignal;
  /** Epoch ms when the budget ends (registry work shares it). */
  deadline: number;
  /** performance.now() when the review started. */
  started: number;
}

/** A handler may answer synchronously (validate.ts's cached path) or with a promise. */
export type ReviewHandler = (
  facts: RequestFacts,
  context: ReviewContext,
) => ReviewResult | Promise<ReviewResult>;

/** Pairs a response with its audit record, both from the same facts. */
export function toReviewResult(
  facts: RecordFacts,
  response: AdmissionReviewResponse,
  outcome: Omit<RecordOutcome, 'decision'>,
  verdict?: Verdict,
): ReviewResult {
  return {
    response,
    record: toAuditRecord(facts, {
      ...outcome,
      decision: response.response.allowed ? 'allowed' : 'denied',
    }),
    ...(verdict !== undefined ? { verdict } : {}),
  };
}
