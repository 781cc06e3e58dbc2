/**
 * The audit record: exactly one per decision. Built from keys we control; never whole objects,
 * never credentials.
 */
import type { RequestFacts } from '../admission/facts.js';
import { toFindingSummary } from '../decision.js';
import type { Verdict } from '../evaluate.js';
import { boundAuditImages } from './bound.js';

export type Decision = 'allowed' | 'denied';

export interface AuditCheck {
  check: string;
  passed: boolean;
  code: string;
  message: string;
  indeterminate?: boolean;
  /** The check's structured facts (Finding.details: sizes, signers, base digests), when it gave any. */
  details?: Record<string, unknown>;
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
  /** The first AUDIT_MAX_IMAGES images (bound.ts); the rest are counted in imagesOmitted. */
  images: AuditImage[];
  /** How many images the record leaves out (a pod naming more than AUDIT_MAX_IMAGES), when any. */
  imagesOmitted?: number;
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
        ...toFindingSummary(f),
        ...(f.details !== undefined ? { details: f.details } : {}),
        durationMs: round(f.durationMs),
      })),
    })),
  }));
}

/** What a handler decided, for the record; the request's own fields come from its facts. */
export interface RecordOutcome {
  decision: Decision;
  wouldDeny: boolean;
  skipped?: string;
  images: AuditImage[];
  /** The global mode override, recorded when the decision was subject to it. */
  mode?: string;
  /** performance.now() when the review started. */
  started: number;
}

/** The one audit-record builder: keys we control only (never the object itself). */
export function toAuditRecord(facts: RequestFacts, outcome: RecordOutcome): AuditRecord {
  // One line per decision with a bounded size, however many images and however long their texts.
  const { images, omitted } = boundAuditImages(outcome.images);
  return {
    event: 'imagegate.decision',
    uid: facts.uid,
    operation: facts.operation,
    dryRun: facts.dryRun,
    ...(facts.user !== undefined ? { user: facts.user } : {}),
    namespace: facts.namespace,
    kind: facts.kind,
    name: facts.name,
    ...(outcome.mode !== undefined ? { mode: outcome.mode } : {}),
    decision: outcome.decision,
    wouldDeny: outcome.wouldDeny,
    ...(outcome.skipped !== undefined ? { skipped: outcome.skipped } : {}),
    images,
    ...(omitted > 0 ? { imagesOmitted: omitted } : {}),
    latencyMs: elapsedMs(outcome.started),
  };
}

/** Milliseconds since `started` (performance.now()), rounded to microseconds. */
export function elapsedMs(started: number): number {
  return Math.round((performance.now() - started) * 1000) / 1000;
}
