/**
 * The audit record: exactly one per decision. Built from keys we control; never whole objects,
 * never credentials.
 */
import { objectName } from '../admission/pod-spec.js';
import type { AdmissionRequest } from '../admission/review.schema.js';
import type { Verdict } from '../evaluate.js';

export type Decision = 'allowed' | 'denied';

export interface AuditCheck {
  check: string;
  passed: boolean;
  code: string;
  message: string;
  indeterminate?: boolean;
  durationMs: number;
}

export interface AuditPolicy {
  policy: string;
  mode: string;
  result: string;
  checks: AuditCheck[];
}

export interface AuditImage {
  image: string;
  reference?: string;
  digest?: string;
  unmatched?: string;
  /** An exclusion exempted the image from the unmatched rule: which policy and field. */
  exempt?: string;
  invalid?: string;
  policies: AuditPolicy[];
}

export interface AuditRecord {
  event: 'imagegate.decision';
  uid: string;
  operation: string;
  dryRun: boolean;
  user?: string;
  namespace: string;
  kind: string;
  name: string;
  /** Global mode override, when set. */
  mode?: string;
  decision: Decision;
  wouldDeny: boolean;
  /** Why nothing was checked (DELETE, unchanged images), when so. */
  skipped?: string;
  images: AuditImage[];
  latencyMs: number;
}

const round = (ms: number | undefined): number => Math.round((ms ?? 0) * 1000) / 1000;

export function toAuditImages(verdict: Verdict | undefined): AuditImage[] {
  if (verdict === undefined) return [];
  return verdict.images.map((o) => ({
    image: o.image,
    ...(o.reference !== undefined ? { reference: o.reference } : {}),
    ...(o.digest !== undefined ? { digest: o.digest } : {}),
    ...(o.unmatched !== undefined ? { unmatched: o.unmatched } : {}),
    ...(o.exempt !== undefined ? { exempt: o.exempt } : {}),
    ...(o.invalid !== undefined ? { invalid: o.invalid.message } : {}),
    policies: o.policies.map((p) => ({
      policy: p.policy,
      mode: p.mode,
      result: p.result,
      checks: p.findings.map((f) => ({
        check: f.check,
        passed: f.passed,
        code: f.code,
        message: f.message,
        ...(f.indeterminate === true ? { indeterminate: true } : {}),
        durationMs: round(f.durationMs),
      })),
    })),
  }));
}

/** The fields every record of a request carries, from keys we control (never the object itself). */
export function toRecordBase(
  req: AdmissionRequest,
  modeOverride: string | undefined,
): Pick<
  AuditRecord,
  'event' | 'uid' | 'operation' | 'dryRun' | 'user' | 'namespace' | 'kind' | 'name' | 'mode'
> {
  return {
    event: 'imagegate.decision',
    uid: req.uid,
    operation: req.operation,
    dryRun: req.dryRun ?? false,
    ...(req.userInfo?.username !== undefined ? { user: req.userInfo.username } : {}),
    namespace: req.namespace ?? '',
    kind: req.kind.kind,
    name: objectName(req.object ?? req.oldObject, req.name),
    ...(modeOverride !== undefined ? { mode: modeOverride } : {}),
  };
}

/** Milliseconds since `started` (performance.now()), rounded to microseconds. */
export function elapsedMs(started: number): number {
  return Math.round((performance.now() - started) * 1000) / 1000;
}
