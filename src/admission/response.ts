/**
 * Verdict → AdmissionReview response: a denial message a person can act on, kubectl warnings for
 * audit-mode findings, and audit annotations for the API server's audit log.
 */
import type { Reason, Verdict } from '../evaluate/evaluate.js';
import {
  ADMISSION_API_VERSION,
  type AdmissionResponse,
  type AdmissionReviewResponse,
} from './review.schema.js';

/** The API server may truncate longer warnings; full details are in imagegate's audit record. */
export const MAX_WARNING_LENGTH = 256;
export const MAX_WARNINGS = 20;
export const MAX_MESSAGE_LENGTH = 8192;

function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

function describe(r: Reason): string {
  return r.policy === undefined
    ? `${r.image}: ${r.message}`
    : `${r.image} (policy ${r.policy}): ${r.message}`;
}

export function toWarnings(verdict: Verdict): string[] {
  // most answers (every cached pass) have nothing to warn about: no arrays built for them
  if (verdict.audits.length === 0 && verdict.errorsAllowed.length === 0 && verdict.exempted.length === 0)
    return [];
  const warnings = [
    ...verdict.audits.map((r) =>
      r.policy === undefined
        ? `imagegate: [audit] ${r.image} would be denied: ${r.message}`
        : `imagegate: [audit] ${r.image} would be denied by ${r.policy}: ${r.message}`,
    ),
    ...verdict.errorsAllowed.map(
      (r) =>
        `imagegate: ${r.image} could not be fully checked by ${r.policy ?? 'policy'} (allowed by onError): ${r.message}`,
    ),
    // First among equals when clipped: the exception, its reason and expiry come before the finding.
    ...verdict.exempted.map(
      (r) =>
        `imagegate: [exception ${r.exception}, expires ${r.expires}] ${r.image} fails ${r.policy}, allowed: "${r.reason}"; found: ${r.message}`,
    ),
  ];
  const out = warnings.slice(0, MAX_WARNINGS).map((w) => clip(w, MAX_WARNING_LENGTH));
  if (warnings.length > MAX_WARNINGS)
    out.push(`imagegate: ${warnings.length - MAX_WARNINGS} more warnings in the audit log`);
  return out;
}

export function toDenialMessage(verdict: Verdict, subject: string): string {
  const lines = verdict.denials.map(describe);
  return clip(`imagegate denied ${subject}: ${lines.join(' | ')}`, MAX_MESSAGE_LENGTH);
}

export function toAdmissionResponse(
  uid: string,
  verdict: Verdict,
  subject: string,
  extra: Partial<Pick<AdmissionResponse, 'patch' | 'patchType'>> = {},
): AdmissionReviewResponse {
  const response: AdmissionResponse = { uid, allowed: verdict.allowed };
  if (!verdict.allowed) {
    response.status = { code: 403, reason: 'Forbidden', message: toDenialMessage(verdict, subject) };
  }
  const warnings = toWarnings(verdict);
  if (warnings.length > 0) response.warnings = warnings;
  response.auditAnnotations = {
    decision: verdict.allowed ? 'allowed' : 'denied',
    ...(verdict.wouldDeny ? { 'would-deny': 'true' } : {}),
    ...(verdict.exempted.length > 0
      ? { exceptions: [...new Set(verdict.exempted.map((r) => r.exception))].join(',') }
      : {}),
    images: String(verdict.images.length),
  };
  Object.assign(response, extra);
  return toReviewResponse(response);
}

/** The one envelope: every answer (validate, mutate, fallback, CLI review) is wrapped here. */
export function toReviewResponse(response: AdmissionResponse): AdmissionReviewResponse {
  return { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response };
}

/** Allowed at once, nothing checked (DELETE, CONNECT, unchanged images on UPDATE). */
export function toAllowedResponse(uid: string, why: string): AdmissionReviewResponse {
  return toReviewResponse({ uid, allowed: true, auditAnnotations: { decision: 'allowed', reason: why } });
}

/** /mutate's answer: allowed, with the digest-pinning JSONPatch when there is one. */
export function toPatchResponse(
  uid: string,
  patch: readonly unknown[],
  warnings: readonly string[],
): AdmissionReviewResponse {
  return toReviewResponse({
    uid,
    allowed: true,
    ...(patch.length > 0
      ? { patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') }
      : {}),
    ...(warnings.length > 0 ? { warnings: [...warnings] } : {}),
    auditAnnotations: { pinned: String(patch.length) },
  });
}

/** Nothing could be evaluated (a bug, an overrun): denied or allowed with a warning, as decided. */
export function toFallbackResponse(uid: string, message: string, deny: boolean): AdmissionReviewResponse {
  return toReviewResponse({
    uid,
    allowed: !deny,
    ...(deny
      ? { status: { code: 403, reason: 'Forbidden', message } }
      : { warnings: [`imagegate: ${message} (allowed)`] }),
    auditAnnotations: { decision: deny ? 'denied' : 'allowed', error: 'true' },
  });
}

/** Allowed unchanged with one warning: /mutate's answer for a body it cannot use (review/unusable.ts). */
export function toUnusableResponse(uid: string, warning: string): AdmissionReviewResponse {
  return toReviewResponse({ uid, allowed: true, warnings: [clip(warning, MAX_WARNING_LENGTH)] });
}

/** An unchanged (not mutated) answer: the operation is not one /mutate rewrites. */
export function toUnchangedResponse(uid: string): AdmissionReviewResponse {
  return toReviewResponse({ uid, allowed: true });
}
