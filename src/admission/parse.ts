/**
 * Turns an untrusted body into a typed AdmissionReview request, or an AdmissionError naming the
 * problem (the route answers it with a 4xx).
 */
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { AdmissionError } from '../errors.js';
import { ADMISSION_API_VERSION, AdmissionRequest, type AdmissionReviewRequest } from './review.schema.js';
import { isRecord } from '../shared/guards.js';

const requestChecker = TypeCompiler.Compile(AdmissionRequest);

/**
 * A short description of an untrusted value for error messages. Never JSON.stringify an object from
 * the body: a deeply nested one (20,000 levels is a small body) overflows the stack and became a 500.
 */
function describeFound(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'object') return Array.isArray(v) ? 'an array' : 'an object';
  return JSON.stringify(v).slice(0, 64);
}

export function parseAdmissionReview(body: unknown): AdmissionReviewRequest {
  if (!isRecord(body)) {
    throw new AdmissionError(
      'NOT_ADMISSION_REVIEW',
      'body is not a JSON object: expected an AdmissionReview',
    );
  }
  if (body.kind !== 'AdmissionReview') {
    throw new AdmissionError(
      'NOT_ADMISSION_REVIEW',
      `expected kind AdmissionReview, found ${describeFound(body.kind)}`,
    );
  }
  if (body.apiVersion !== ADMISSION_API_VERSION) {
    throw new AdmissionError(
      'UNSUPPORTED_API_VERSION',
      `unsupported apiVersion ${describeFound(body.apiVersion)}: imagegate accepts ${ADMISSION_API_VERSION} (set admissionReviewVersions: [v1])`,
    );
  }
  const request = body.request;
  if (!isRecord(request)) {
    throw new AdmissionError('NOT_ADMISSION_REVIEW', 'AdmissionReview has no request object');
  }
  if (typeof request.uid !== 'string' || request.uid.length === 0) {
    throw new AdmissionError('MISSING_UID', 'AdmissionReview request.uid is missing or empty');
  }
  // Check() is the compiled validator; Errors() walks the value interpretively (a fifth of a cached
  // review's handler CPU in the bench profile), so it only runs to describe a request that failed.
  if (!requestChecker.Check(request)) {
    const first = requestChecker.Errors(request).First();
    throw new AdmissionError(
      'NOT_ADMISSION_REVIEW',
      first !== undefined
        ? `AdmissionReview request${first.path.replace(/\//g, '.')}: ${first.message}`
        : 'AdmissionReview request does not match the schema',
    );
  }
  return { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', request: request as AdmissionRequest };
}
