/**
 * The audit result as one report per namespace: `wgpolicyk8s.io/v1alpha2` PolicyReport (default) or
 * `openreports.io/v1alpha1` Report. One result per workload, image, policy and check (rule = check),
 * the workload as resource. Pure: the writer (src/kube/reports.ts) puts them in the cluster.
 */
import type { AuditContainer, AuditReport, AuditWorkload } from '../cluster/result.js';

export type ReportFlavor = 'policyreports' | 'openreports';

export const REPORT_NAME = 'imagegate';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'imagegate';
/** Results per report at most (an object must stay well under etcd's 1.5 MiB). */
export const MAX_RESULTS = 2000;
const MAX_MESSAGE = 1024;

const LABEL: [string, string] = [MANAGED_BY_LABEL, MANAGED_BY];
export const REPORT_KINDS: Record<
  ReportFlavor,
  { group: string; version: string; plural: string; kind: string; name: string; label: [string, string] }
> = {
  policyreports: {
    group: 'wgpolicyk8s.io',
    version: 'v1alpha2',
    plural: 'policyreports',
    kind: 'PolicyReport',
    name: REPORT_NAME,
    label: LABEL,
  },
  openreports: {
    group: 'openreports.io',
    version: 'v1alpha1',
    plural: 'reports',
    kind: 'Report',
    name: REPORT_NAME,
    label: LABEL,
  },
};

export type ReportResultValue = 'pass' | 'fail' | 'warn' | 'error' | 'skip';

export interface ReportResult {
  source: string;
  policy: string;
  rule: string;
  result: ReportResultValue;
  message: string;
  category: string;
  scored: boolean;
  timestamp: { seconds: number; nanos: number };
  resources: { apiVersion?: string; kind: string; name: string; namespace: string; uid?: string }[];
  properties: Record<string, string>;
}

export interface ReportBody {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    annotations?: Record<string, string>;
  };
  source?: string;
  summary: Record<ReportResultValue, number>;
  results: ReportResult[];
}

function resultsFor(w: AuditWorkload, namespace: string, c: AuditContainer, seconds: number): ReportResult[] {
  const image = c.image;
  const base = {
    source: 'imagegate',
    category: 'Image policy',
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
      container: c.name,
      image: image.image,
      ...(image.digest !== undefined ? { digest: image.digest } : {}),
      admission: image.admission,
    },
  };
  const message = (m: string): string => (m.length > MAX_MESSAGE ? `${m.slice(0, MAX_MESSAGE - 1)}…` : m);
  if (image.invalid !== undefined)
    return [
      {
        ...base,
        policy: 'imagegate',
        rule: 'reference',
        result: 'fail',
        message: message(image.invalid.message),
      },
    ];
  if (image.unmatched !== undefined)
    return [
      {
        ...base,
        policy: 'imagegate',
        rule: 'unmatched',
        result: image.unmatched === 'deny' ? 'fail' : image.unmatched === 'audit' ? 'warn' : 'skip',
        message: `no ImagePolicy governs this image (unmatched: ${image.unmatched})`,
      },
    ];
  if (image.outcome === 'error' && image.policies.length === 0)
    return [
      {
        ...base,
        policy: 'imagegate',
        rule: 'evaluation',
        result: 'error',
        message: message(image.reasons.join('; ')),
      },
    ];
  return image.policies.flatMap((p) =>
    p.findings.map((f) => ({
      ...base,
      properties: { ...base.properties, mode: p.mode },
      policy: p.policy,
      rule: f.check,
      result: f.passed ? 'pass' : f.indeterminate === true ? 'error' : 'fail',
      message: message(f.message),
    })),
  );
}

/** One report body per namespace of the audit (namespaces without workloads get none). */
export function toPolicyReports(report: AuditReport, flavor: ReportFlavor): Map<string, ReportBody> {
  const kind = REPORT_KINDS[flavor];
  const seconds = Math.floor(Date.parse(report.generatedAt) / 1000);
  const out = new Map<string, ReportBody>();
  for (const ns of report.namespaces) {
    let results = ns.workloads.flatMap((w) =>
      w.containers.flatMap((c) => resultsFor(w, ns.name, c, seconds)),
    );
    const truncated = results.length > MAX_RESULTS;
    if (truncated) {
      // Keep what needs attention first.
      const rank = { fail: 0, error: 1, warn: 2, pass: 3, skip: 4 } as const;
      results = [...results].sort((a, b) => rank[a.result] - rank[b.result]).slice(0, MAX_RESULTS);
    }
    const summary = { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 };
    for (const r of results) summary[r.result] += 1;
    out.set(ns.name, {
      apiVersion: `${kind.group}/${kind.version}`,
      kind: kind.kind,
      metadata: {
        name: REPORT_NAME,
        namespace: ns.name,
        labels: { [MANAGED_BY_LABEL]: MANAGED_BY },
        ...(truncated ? { annotations: { 'imagegate.dev/truncated': `kept ${MAX_RESULTS} results` } } : {}),
      },
      ...(flavor === 'openreports' ? { source: 'imagegate' } : {}),
      summary,
      results,
    });
  }
  return out;
}
