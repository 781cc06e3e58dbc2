/**
 * One PolicyReport result per workload, container, policy and check, in the fields Policy Reporter
 * and people read: a stable unique `properties.resultID`, `severity`, the container and image named in
 * the message, init/ephemeral containers marked, each result's own policy outcome as
 * `properties.admission`. Results that no ImagePolicy produced (unmatched images, invalid references,
 * evaluation errors) carry policy `(no ImagePolicy)` and a category and rule saying which (docs/audit.md).
 */
import { createHash } from 'node:crypto';
import type { Admission, AuditContainer, AuditPolicyResult, AuditWorkload } from '../cluster/result.js';
import type { PolicySeverity } from '../policy/policy.schema.js';

export type ReportResultValue = 'pass' | 'fail' | 'warn' | 'error' | 'skip';

export interface ReportResult {
  source: string;
  policy: string;
  rule: string;
  result: ReportResultValue;
  severity: PolicySeverity;
  message: string;
  category: string;
  scored: boolean;
  timestamp: { seconds: number; nanos: number };
  resources: { apiVersion?: string; kind: string; name: string; namespace: string; uid?: string }[];
  properties: Record<string, string>;
}

/** The `policy` of results no ImagePolicy produced: visibly not the name of one. */
export const NO_POLICY = '(no ImagePolicy)';

/** Category per check (and per kind of result no ImagePolicy produced): Policy Reporter filters by it. */
export const CATEGORIES: Record<string, string> = {
  signature: 'Image signature',
  attestations: 'Image attestations',
  base: 'Base image',
  size: 'Image size',
  digest: 'Image digest',
  registry: 'Registry access',
  unmatched: 'Unmatched image',
  reference: 'Invalid image reference',
  evaluation: 'Evaluation error',
};

/** Severity when the policy sets none (`spec.severity` overrides it for all the policy's checks). */
export const DEFAULT_SEVERITY: Record<string, PolicySeverity> = {
  signature: 'high',
  attestations: 'high',
  base: 'high',
  size: 'medium',
  digest: 'medium',
  registry: 'medium',
  unmatched: 'medium',
  reference: 'medium',
  evaluation: 'low',
};

const MAX_MESSAGE = 1024;

const CONTAINER_TYPES: Record<AuditContainer['field'], { type: string; label: string }> = {
  containers: { type: 'container', label: 'container' },
  initContainers: { type: 'initContainer', label: 'init container' },
  ephemeralContainers: { type: 'ephemeralContainer', label: 'ephemeral container' },
  volumes: { type: 'imageVolume', label: 'image volume' },
};

/** `resolve` is where the image itself could not be fetched: no check of the policy ran. */
const ruleOf = (check: string): string => (check === 'resolve' ? 'registry' : check);

/** What one policy alone does with the image: its own mode and result, not the image's worst. */
function policyAdmission(p: AuditPolicyResult): Admission {
  if (p.result !== 'fail') return 'allow';
  return p.mode === 'enforce' ? 'deny' : 'would-deny';
}

/** Stable across runs (no time, no order), unique per workload, container, policy and rule. */
function resultId(parts: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 40);
}

export function resultsFor(
  w: AuditWorkload,
  namespace: string,
  c: AuditContainer,
  seconds: number,
): ReportResult[] {
  const image = c.image;
  const kind = CONTAINER_TYPES[c.field];
  const name = image.reference ?? image.image;
  const subject = `${kind.label} ${c.name}, image ${name}${image.digest !== undefined && !name.includes('@') ? `@${image.digest}` : ''}`;
  const message = (m: string): string => {
    const full = `${subject}: ${m}`;
    return full.length > MAX_MESSAGE ? `${full.slice(0, MAX_MESSAGE - 1)}…` : full;
  };
  const make = (
    policy: string,
    rule: string,
    result: ReportResultValue,
    text: string,
    admission: Admission,
    extra: Record<string, string> = {},
    severity?: PolicySeverity,
  ): ReportResult => ({
    source: 'imagegate',
    policy,
    rule,
    result,
    severity: severity ?? DEFAULT_SEVERITY[rule] ?? 'medium',
    message: message(text),
    category: CATEGORIES[rule] ?? `Image ${rule}`,
    scored: true,
    timestamp: { seconds, nanos: 0 },
    resources: [
      {
        ...(w.apiVersion !== undefined ? { apiVersion: w.apiVersion } : {}),
        kind: w.kind,
        name: w.name,
        namespace,
        ...(w.uid !== undefined ? { uid: w.uid } : {}),
      },
    ],
    properties: {
      resultID: resultId([
        namespace,
        w.kind,
        w.name,
        w.uid ?? '',
        c.field,
        c.name,
        image.image,
        policy,
        rule,
      ]),
      container: c.name,
      containerType: kind.type,
      image: image.image,
      ...(image.digest !== undefined ? { digest: image.digest } : {}),
      admission,
      ...extra,
    },
  });
  if (image.invalid !== undefined)
    return [make(NO_POLICY, 'reference', 'fail', image.invalid.message, image.admission)];
  if (image.unmatched !== undefined)
    return [
      make(
        NO_POLICY,
        'unmatched',
        image.unmatched === 'deny' ? 'fail' : image.unmatched === 'audit' ? 'warn' : 'skip',
        `no ImagePolicy governs this image (unmatched: ${image.unmatched})`,
        image.admission,
      ),
    ];
  if (image.outcome === 'error' && image.policies.length === 0)
    return [make(NO_POLICY, 'evaluation', 'error', image.reasons.join('; '), image.admission)];
  return image.policies.flatMap((p) =>
    p.findings.map((f) => {
      // A failure an exception let through: `skip`, naming the exception, its reason and expiry.
      const e = f.exemptedBy;
      if (e !== undefined)
        return make(
          p.policy,
          ruleOf(f.check),
          'skip',
          `exempted by ImagePolicyException ${e.exception} until ${e.expires} ("${e.reason}"): ${f.message}`,
          policyAdmission(p),
          { mode: p.mode, code: f.code, exception: e.exception, exceptionExpires: e.expires },
          p.severity,
        );
      return make(
        p.policy,
        ruleOf(f.check),
        f.passed ? 'pass' : f.indeterminate === true ? 'error' : 'fail',
        f.message,
        policyAdmission(p),
        { mode: p.mode, ...(f.passed ? {} : { code: f.code }) },
        p.severity,
      );
    }),
  );
}
