/** One image's Verdict (from the shared evaluator) as an audit result. Pure. */
import { toFindingSummary } from '../evaluate/decision.js';
import type { Verdict } from '../evaluate/evaluate.js';
import type { Admission, AuditImage, AuditOutcome } from './result.js';

export function toAuditImage(image: string, verdict: Verdict): AuditImage {
  const o = verdict.images[0];
  const admission: Admission = !verdict.allowed ? 'deny' : verdict.wouldDeny ? 'would-deny' : 'allow';
  const reasons = [
    ...verdict.denials.map((r) => `denied${r.policy !== undefined ? ` by ${r.policy}` : ''}: ${r.message}`),
    ...verdict.audits.map(
      (r) => `would be denied${r.policy !== undefined ? ` by ${r.policy}` : ''}: ${r.message}`,
    ),
    ...verdict.errorsAllowed.map(
      (r) =>
        `not fully checked${r.policy !== undefined ? ` by ${r.policy}` : ''} (allowed by onError): ${r.message}`,
    ),
    ...verdict.exempted.map(
      (r) =>
        `exempted by exception ${r.exception} (expires ${r.expires}: ${r.reason}) from ${r.policy}: ${r.message}`,
    ),
  ];
  if (o === undefined) return { image, outcome: 'pass', admission, policies: [], reasons };
  let outcome: AuditOutcome = 'pass';
  if (o.invalid !== undefined || o.unmatched === 'deny') outcome = 'fail';
  else if (o.unmatched === 'audit') outcome = 'warn';
  else if (o.policies.some((p) => p.result === 'fail')) outcome = 'fail';
  else if (o.policies.some((p) => p.result === 'error-allowed')) outcome = 'error';
  else if (o.policies.some((p) => p.result === 'exempted')) outcome = 'skip';
  return {
    image,
    ...(o.reference !== undefined ? { reference: o.reference } : {}),
    ...(o.digest !== undefined ? { digest: o.digest } : {}),
    outcome,
    admission,
    ...(o.unmatched !== undefined ? { unmatched: o.unmatched } : {}),
    ...(o.invalid !== undefined
      ? {
          invalid: {
            check: o.invalid.check,
            passed: false,
            code: o.invalid.code,
            message: o.invalid.message,
          },
        }
      : {}),
    policies: o.policies.map((p) => ({
      policy: p.policy,
      mode: p.mode,
      onError: p.onError,
      ...(p.severity !== undefined ? { severity: p.severity } : {}),
      result: p.result,
      findings: p.findings.map(toFindingSummary),
    })),
    reasons,
    ...(verdict.exempted.length > 0
      ? { exceptions: [...new Set(verdict.exempted.map((r) => r.exception))].sort() }
      : {}),
  };
}
