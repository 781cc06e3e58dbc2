/**
 * /mutate's answer for a body it cannot use (not JSON, not a review, an unusable object): allowed,
 * no patch, a warning saying why, and its audit record. /mutate only pins digests: a 4xx would fail
 * the request under failurePolicy: Fail, so the validating webhook decides about the object.
 */
import { toUnusableResponse } from '../admission/response.js';
import type { RecordFacts } from '../audit/record.js';
import { isRecord } from '../shared/guards.js';
import { toReviewResult, type ReviewResult } from './result.js';

/** Bodies are untrusted: every string taken from one is cut to this many characters. */
const MAX_FIELD_LENGTH = 256;
/** The error's message goes into the warning (clipped again there) and the record. */
const MAX_MESSAGE_LENGTH = 1024;

function field(from: unknown, key: string): string {
  const value = isRecord(from) ? from[key] : undefined;
  return typeof value === 'string' ? value.slice(0, MAX_FIELD_LENGTH) : '';
}

/**
 * What the record can say about a body that is not a usable review: the strings it has where a
 * review has them, '' elsewhere. The uid is echoed when there is one (the API server always sends
 * one; without it no answer can match).
 */
function factsOf(body: unknown): RecordFacts {
  const request = isRecord(body) ? body.request : undefined;
  const kind = isRecord(request) ? request.kind : undefined;
  return {
    uid: field(request, 'uid'),
    operation: field(request, 'operation'),
    dryRun: isRecord(request) && request.dryRun === true,
    kind: field(kind, 'kind'),
    namespace: field(request, 'namespace'),
    name: field(request, 'name'),
  };
}

export function unusableMutateResult(
  body: unknown,
  code: string,
  message: string,
  started: number,
): ReviewResult {
  const facts = factsOf(body);
  const why = `the request could not be used (${code}): ${message.slice(0, MAX_MESSAGE_LENGTH)}`;
  return toReviewResult(facts, toUnusableResponse(facts.uid, `imagegate: images not pinned: ${why}`), {
    wouldDeny: false,
    skipped: `mutate: ${why}`,
    images: [],
    started,
  });
}
