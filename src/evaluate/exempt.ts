/**
 * ImagePolicyExceptions applied to one image's policy outcomes: a failed finding of a check an
 * exception in force covers is marked `exemptedBy` (never turned into a pass), and the policy's
 * result is recomputed (decision.ts: `exempted` when nothing else failed). An exception applies only
 * in its own namespace, only to the policies it names, only while it is Active at the engine's clock
 * (exceptionState: a named policy missing makes it Invalid, past spec.expires it is Expired).
 * Failures of imagegate itself (resolve, reference, INTERNAL_ERROR) are never exempted.
 */
import { EXEMPTABLE_CHECKS, type ExemptableCheck } from '../policy/exception.schema.js';
import {
  exceptionState,
  EXPIRING_SOON_MS,
  type CompiledException,
  type ExceptionPhase,
  type WorkloadRef,
} from '../policy/exceptions.js';
import { policyResult, type CheckOutcome, type PolicyOutcome } from './decision.js';

export type { WorkloadRef } from '../policy/exceptions.js';

/** What applying exceptions needs beyond the image: whose review it is, and when. */
export interface ExceptionScope {
  /** Every exception loaded (any namespace, any state): filtered here. */
  exceptions: readonly CompiledException[];
  /** The admitted object and its controller (admission/facts.ts), or the audited workload. */
  workload: readonly WorkloadRef[];
  /** Epoch ms: the engine's clock. */
  now: number;
}

const EXEMPTABLE: ReadonlySet<string> = new Set(EXEMPTABLE_CHECKS);

function covers(e: CompiledException, f: CheckOutcome): boolean {
  if (f.passed || !EXEMPTABLE.has(f.check) || f.code === 'INTERNAL_ERROR') return false;
  return e.checks === undefined || e.checks.has(f.check as ExemptableCheck);
}

/** The exceptions in force for this namespace, image and workload, in a stable order (by id). */
export function exceptionsFor(
  scope: ExceptionScope,
  namespace: string,
  repository: string,
  full: string,
  policyExists: (name: string) => boolean,
): CompiledException[] {
  return scope.exceptions
    .filter(
      (e) =>
        e.namespace === namespace &&
        e.matchesImage(repository, full) &&
        e.matchesWorkload(scope.workload) &&
        exceptionState(e, scope.now, policyExists).phase === 'Active',
    )
    .sort((a, b) => a.id.localeCompare(b.id));
}

/** The outcomes with covered failures marked; the same array when no exception applies. */
export function applyExceptions(
  outcomes: readonly PolicyOutcome[],
  applicable: readonly CompiledException[],
): readonly PolicyOutcome[] {
  if (applicable.length === 0 || outcomes.every((p) => p.result === 'pass')) return outcomes;
  return outcomes.map((p) => {
    const mine = applicable.filter((e) => e.policies.includes(p.policy));
    if (p.result === 'pass' || mine.length === 0) return p;
    let changed = false;
    const findings = p.findings.map((f) => {
      const by = mine.find((e) => covers(e, f));
      if (by === undefined) return f;
      changed = true;
      return { ...f, exemptedBy: { exception: by.id, reason: by.reason, expires: by.expires } };
    });
    return changed ? { ...p, findings, result: policyResult(findings, p.onError) } : p;
  });
}

/** An exception as reports list it: its phase now, and whether it expires within 7 days. */
export interface ExceptionSummary {
  exception: string;
  phase: ExceptionPhase;
  policies: string[];
  reason: string;
  expires: string;
  /** Active and expiring within 7 days. */
  expiringSoon: boolean;
  message: string;
}

export function exceptionSummaries(
  exceptions: readonly CompiledException[],
  now: number,
  policyExists: (name: string) => boolean,
): ExceptionSummary[] {
  return exceptions.map((e) => {
    const state = exceptionState(e, now, policyExists);
    return {
      exception: e.id,
      phase: state.phase,
      policies: [...e.policies],
      reason: e.reason,
      expires: e.expires,
      expiringSoon: state.phase === 'Active' && e.expiresAt - now <= EXPIRING_SOON_MS,
      message: state.message,
    };
  });
}
