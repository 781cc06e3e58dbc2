/**
 * The decision, pure: what each image's policies found, each policy's mode and onError, and the
 * `unmatched` setting → allowed or denied, with reasons. No I/O, no clock: evaluate.ts gathers the
 * findings, this module decides. The result types are documented here, where they are defined.
 */
import type { Finding } from '../checks/check.js';
import type { CheckName } from '../checks/kinds.js';
import type { OnErrorAction, PolicyMode, PolicySeverity } from '../policy/policy.schema.js';
import { unmatchedUnderOverride, type Unmatched } from '../policy/unmatched.js';

/** What happens to an image no policy governs. Unknown values are refused at configuration. */
export type { Unmatched };

export interface EvaluationSettings {
  /** Global override of every policy's mode (`--mode audit` for a cluster-wide dry run). */
  modeOverride?: PolicyMode;
  /** The operator's `--unmatched`; undefined = deny where an enforcing policy applies (policy/unmatched.ts). */
  unmatched?: Unmatched;
}

/** An ImagePolicyException that let a failed finding through (evaluate/exempt.ts): not a pass. */
export interface Exemption {
  /** `namespace/name` of the exception. */
  exception: string;
  reason: string;
  /** RFC 3339, as the exception says. */
  expires: string;
}

export interface CheckOutcome extends Finding<CheckName> {
  /** The check could not complete (registry down, timeout): onError decided. */
  indeterminate?: boolean;
  /** The finding failed and an exception in force let it through. */
  exemptedBy?: Exemption;
}

/** What every report of a finding shows (audit record, cluster audit): stable keys in this order. */
export interface FindingSummary {
  check: CheckName;
  passed: boolean;
  code: string;
  message: string;
  indeterminate?: true;
  exemptedBy?: Exemption;
}

export function toFindingSummary(f: CheckOutcome): FindingSummary {
  const summary: FindingSummary = { check: f.check, passed: f.passed, code: f.code, message: f.message };
  if (f.indeterminate === true) summary.indeterminate = true;
  if (f.exemptedBy !== undefined) summary.exemptedBy = f.exemptedBy;
  return summary;
}

/**
 * `error-allowed`: every failure was indeterminate and the policy's onError is allow. `exempted`:
 * every failure was let through by an ImagePolicyException (allowed, never a pass).
 */
export type PolicyResult = 'pass' | 'fail' | 'error-allowed' | 'exempted';

export interface PolicyOutcome {
  policy: string;
  /** The policy's mode, or the global override. */
  mode: PolicyMode;
  onError: OnErrorAction;
  /** The policy's `spec.severity`, when it sets one. */
  severity?: PolicySeverity;
  result: PolicyResult;
  findings: readonly CheckOutcome[];
}

export interface ImageOutcome {
  /** As written in the spec. */
  image: string;
  /** Normalised reference, when it parsed. */
  reference?: string;
  /** Digest the reference resolved to (when a check needed the registry) or was pinned with. */
  digest?: string;
  policies: readonly PolicyOutcome[];
  /** Set when no policy governs the image: what was decided for it (policy/unmatched.ts). */
  unmatched?: Unmatched;
  /** Why, for denials and warnings. */
  unmatchedMessage?: string;
  /** Set when an exclusion exempted the image: which policy and which field. */
  exempt?: string;
  /** Set when the reference does not parse. */
  invalid?: CheckOutcome;
  /**
   * Set when the outcome was answered again from reused outcomes (reused-outcomes.ts): no check ran,
   * and `policies` is the kept, frozen list shared by every answer (the audit builds its form once).
   */
  reused?: true;
}

export interface Reason {
  image: string;
  policy?: string;
  message: string;
}

export interface ExemptedReason extends Reason, Exemption {
  policy: string;
}

export interface Verdict {
  allowed: boolean;
  /** An audit-mode policy (or unmatched: audit) would have denied. */
  wouldDeny: boolean;
  denials: Reason[];
  audits: Reason[];
  /** Checks that could not complete and were allowed by onError. */
  errorsAllowed: Reason[];
  /** Failures an ImagePolicyException let through, one per image, policy and exception. */
  exempted: ExemptedReason[];
  images: ImageOutcome[];
}

/**
 * A policy's result from its findings: indeterminate failures alone defer to onError; failures an
 * exception let through do not count, but a policy with one is `exempted`, not `pass`.
 */
export function policyResult(findings: readonly CheckOutcome[], onError: OnErrorAction): PolicyResult {
  const failed = findings.filter((f) => !f.passed && f.exemptedBy === undefined);
  if (failed.length === 0) return findings.some((f) => f.exemptedBy !== undefined) ? 'exempted' : 'pass';
  if (failed.every((f) => f.indeterminate === true) && onError === 'allow') return 'error-allowed';
  return 'fail';
}

function failureSummary(p: PolicyOutcome): string {
  return p.findings
    .filter((f) => !f.passed && f.exemptedBy === undefined)
    .map((f) => `${f.check} ${f.code}: ${f.message}`)
    .join('; ');
}

/** The strictest mode among all policies in force, used for images that cannot even be parsed. */
function strictestMode(modes: readonly PolicyMode[], settings: EvaluationSettings): PolicyMode | 'unmatched' {
  if (settings.modeOverride !== undefined) return settings.modeOverride;
  if (modes.includes('enforce')) return 'enforce';
  return modes.length > 0 ? 'audit' : 'unmatched';
}

/** A verdict that allows, with nothing found yet: where `decide` starts, and an image never checked. */
export function allowedVerdict(images: ImageOutcome[] = []): Verdict {
  return {
    allowed: true,
    wouldDeny: false,
    denials: [],
    audits: [],
    errorsAllowed: [],
    exempted: [],
    images,
  };
}

/**
 * The verdict over every image's outcome. `modes` are the modes of all policies in force (an image
 * that does not parse cannot be matched, so the strictest of them applies).
 */
export function decide(
  images: ImageOutcome[],
  modes: readonly PolicyMode[],
  settings: EvaluationSettings,
): Verdict {
  const verdict = allowedVerdict(images);
  // For a reference that does not parse while no policy is in force at all: the operator's choice only.
  const unmatchedMode =
    settings.unmatched !== undefined
      ? unmatchedUnderOverride(settings.unmatched, settings.modeOverride)
      : undefined;
  for (const o of images) {
    const label =
      o.reference !== undefined && o.digest !== undefined && !o.reference.includes('@')
        ? `${o.reference}@${o.digest}`
        : (o.reference ?? o.image);
    if (o.invalid !== undefined) {
      const mode = strictestMode(modes, settings);
      const reason = { image: o.image, message: o.invalid.message };
      if (mode === 'enforce' || (mode === 'unmatched' && unmatchedMode === 'deny'))
        verdict.denials.push(reason);
      else verdict.audits.push(reason);
      continue;
    }
    if (o.unmatched !== undefined) {
      // Already decided per image (namespace, exclusions, override) by policy/unmatched.ts.
      // The global audit override never denies, whoever decided.
      const action = unmatchedUnderOverride(o.unmatched, settings.modeOverride);
      const message = o.unmatchedMessage ?? 'no ImagePolicy governs this image';
      if (action === 'deny') verdict.denials.push({ image: label, message });
      else if (action === 'audit') verdict.audits.push({ image: label, message });
      // Its policies, if any, are tenant policies (policy/tenant.ts): their findings still count.
    }
    for (const p of o.policies) {
      if (p.result === 'pass') continue;
      verdict.exempted.push(...exemptions(label, p));
      if (p.result === 'exempted') continue;
      const reason = { image: label, policy: p.policy, message: failureSummary(p) };
      if (p.result === 'error-allowed') verdict.errorsAllowed.push(reason);
      else if (p.mode === 'enforce') verdict.denials.push(reason);
      else verdict.audits.push(reason);
    }
  }
  verdict.allowed = verdict.denials.length === 0;
  verdict.wouldDeny = verdict.audits.length > 0;
  return verdict;
}

/** One entry per exception that let a finding of this policy through, naming what it let through. */
function exemptions(image: string, p: PolicyOutcome): ExemptedReason[] {
  const byException = new Map<string, { exemption: Exemption; found: string[] }>();
  for (const f of p.findings) {
    if (f.exemptedBy === undefined) continue;
    const entry = byException.get(f.exemptedBy.exception) ?? { exemption: f.exemptedBy, found: [] };
    entry.found.push(`${f.check} ${f.code}: ${f.message}`);
    byException.set(f.exemptedBy.exception, entry);
  }
  return [...byException.values()].map(({ exemption, found }) => ({
    image,
    policy: p.policy,
    message: found.join('; '),
    ...exemption,
  }));
}
