/**
 * The audit result: namespace → workload → container → image, with a summary. This is the stable
 * JSON shape `imagegate audit --output json` prints (docs/audit.md documents it); extend, never
 * rename. The text, html and PolicyReport renderers all read it.
 */
import type { ContainerField } from '../admission/pod-spec.js';
import type { PolicyMode } from '../policy/policy.schema.js';
import type { OnErrorAction, PolicySeverity } from '../policy/policy.schema.js';
import type { PolicyResult, Unmatched } from '../evaluate/evaluate.js';
import type { ExceptionSummary } from '../evaluate/exempt.js';

export type { ExceptionSummary } from '../evaluate/exempt.js';

/**
 * Compliance of an image (PolicyReport's vocabulary): `fail` a policy's check failed (or the
 * reference is invalid, or `unmatched: deny`); `warn` no policy governs it and `unmatched: audit`;
 * `error` a check could not complete and `onError` allowed it; `skip` a failure was let through by an
 * ImagePolicyException (the finding names it: `exemptedBy`); `pass` otherwise.
 */
export type AuditOutcome = 'pass' | 'fail' | 'warn' | 'error' | 'skip';

/** What the webhook does with this image now: deny (enforce), would-deny (audit mode), allow. */
export type Admission = 'deny' | 'would-deny' | 'allow';

export interface AuditFinding {
  check: string;
  passed: boolean;
  code: string;
  /** What was checked, what was found and what the policy wanted (heaviest layers, base proof, authorities tried). */
  message: string;
  /** The check could not complete; onError decided. */
  indeterminate?: boolean;
  /** The failure was let through by this ImagePolicyException (namespace/name), its reason and expiry. */
  exemptedBy?: { exception: string; reason: string; expires: string };
}

export interface AuditPolicyResult {
  policy: string;
  mode: PolicyMode;
  onError: OnErrorAction;
  /** The policy's `spec.severity`, when it sets one (reports fall back to each check's default). */
  severity?: PolicySeverity;
  result: PolicyResult;
  findings: AuditFinding[];
}

/** One distinct image as evaluated for a namespace's policy set. */
export interface AuditImage {
  /** As written in the spec. */
  image: string;
  /** Normalised reference, when it parsed. */
  reference?: string;
  /** Digest it resolved to (or was pinned with). */
  digest?: string;
  outcome: AuditOutcome;
  admission: Admission;
  /** Set when no policy governs the image. */
  unmatched?: Unmatched;
  /** Set when the reference does not parse. */
  invalid?: AuditFinding;
  policies: AuditPolicyResult[];
  /** One line per reason the image would be denied or was not fully checked. */
  reasons: string[];
  /** ImagePolicyExceptions (namespace/name) that let a failure of this image through, when any. */
  exceptions?: string[];
}

export interface AuditContainer {
  name: string;
  field: ContainerField;
  image: AuditImage;
}

export interface AuditWorkload {
  kind: string;
  apiVersion?: string;
  name: string;
  uid?: string;
  /** Pods grouped under it at the time of the run. */
  pods: number;
  /** The worst outcome of its containers (fail > error > warn > pass). */
  outcome: AuditOutcome;
  admission: Admission;
  containers: AuditContainer[];
}

export interface AuditNamespace {
  name: string;
  outcome: AuditOutcome;
  workloads: AuditWorkload[];
}

export type OutcomeCounts = Record<AuditOutcome, number>;

export interface AuditSummary {
  namespaces: number;
  workloads: number;
  containers: number;
  /** Distinct image evaluations (one per image and namespace policy set). */
  evaluations: number;
  /** Workloads by outcome. */
  workloadOutcomes: OutcomeCounts;
  /** Workloads the webhook would deny (enforce) or would deny once enforced (audit mode). */
  wouldDeny: number;
  /** Containers by outcome, per policy that governs them. */
  byPolicy: Record<string, OutcomeCounts>;
  /** Findings per check: passed, failed, could not complete. */
  byCheck: Record<string, { passed: number; failed: number; error: number }>;
  /** Workloads by outcome per namespace. */
  byNamespace: Record<string, OutcomeCounts>;
}

export interface AuditReport {
  apiVersion: 'imagegate.dev/v1alpha1';
  kind: 'AuditReport';
  /** ISO 8601. */
  generatedAt: string;
  durationMs: number;
  /** The cluster audited: kubeconfig context and API server URL (set by `imagegate audit`). */
  cluster?: { context: string; server: string };
  /** `unmatched`: the operator's `--unmatched`, or `default` (deny where an enforcing policy applies). */
  scope: {
    namespaces: string[] | 'all';
    policies: string[];
    unmatched: Unmatched | 'default';
    mode?: PolicyMode;
  };
  outcome: AuditOutcome;
  summary: AuditSummary;
  namespaces: AuditNamespace[];
  /** The ImagePolicyExceptions loaded, with their phase at the run (those expiring within 7 days marked). */
  exceptions?: ExceptionSummary[];
}

const RANK: Record<AuditOutcome, number> = { pass: 0, skip: 1, warn: 2, error: 3, fail: 4 };
export function worstOutcome(outcomes: Iterable<AuditOutcome>): AuditOutcome {
  let worst: AuditOutcome = 'pass';
  for (const o of outcomes) if (RANK[o] > RANK[worst]) worst = o;
  return worst;
}

const ADMISSION_RANK: Record<Admission, number> = { allow: 0, 'would-deny': 1, deny: 2 };
export function strictestAdmission(values: Iterable<Admission>): Admission {
  let worst: Admission = 'allow';
  for (const a of values) if (ADMISSION_RANK[a] > ADMISSION_RANK[worst]) worst = a;
  return worst;
}

export function emptyCounts(): OutcomeCounts {
  return { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 };
}
