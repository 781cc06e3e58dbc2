/**
 * The audit result as one report per namespace: `wgpolicyk8s.io/v1alpha2` PolicyReport (default) or
 * `openreports.io/v1alpha1` Report. One result per workload, container, policy and check (./results.ts),
 * the workload as resource. Reports stay per namespace, without `scope`: one object per namespace
 * instead of one per workload keeps the API objects imagegate writes few and bounded (docs/audit.md).
 * Pure: the writer (src/kube/reports.ts) puts them in the cluster.
 */
import type { AuditReport } from '../cluster/result.js';
import { resultsFor, type ReportResult, type ReportResultValue } from './results.js';

export { NO_POLICY, type ReportResult, type ReportResultValue } from './results.js';

export type ReportFlavor = 'policyreports' | 'openreports';

export const REPORT_NAME = 'imagegate';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'imagegate';
/** Results per report at most (an object must stay well under etcd's 1.5 MiB). */
export const MAX_RESULTS = 2000;

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
