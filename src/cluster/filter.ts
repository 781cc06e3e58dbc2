/**
 * `imagegate audit --exception NAME`: only the containers whose image had a failure let through by
 * that ImagePolicyException (`namespace/name`), or by any (`all`); the summary is recomputed. Pure.
 */
import { overallOutcome, summarize } from './summary.js';
import { worstOutcome, type AuditImage, type AuditReport } from './result.js';

export function filterByException(report: AuditReport, wanted: readonly string[]): AuditReport {
  if (wanted.length === 0) return report;
  const any = wanted.includes('all');
  const keep = (image: AuditImage): boolean =>
    (image.exceptions ?? []).some((name) => any || wanted.includes(name));
  const namespaces = report.namespaces.flatMap((ns) => {
    const workloads = ns.workloads.flatMap((w) => {
      const containers = w.containers.filter((c) => keep(c.image));
      return containers.length === 0
        ? []
        : [{ ...w, containers, outcome: worstOutcome(containers.map((c) => c.image.outcome)) }];
    });
    return workloads.length === 0
      ? []
      : [{ ...ns, workloads, outcome: worstOutcome(workloads.map((w) => w.outcome)) }];
  });
  return {
    ...report,
    outcome: overallOutcome(namespaces),
    summary: summarize(namespaces, report.summary.evaluations),
    namespaces,
  };
}
