/** The audit report's summary and roll-ups, computed from its namespaces. Pure. */
import {
  emptyCounts,
  worstOutcome,
  type AuditNamespace,
  type AuditSummary,
  type AuditOutcome,
} from './result.js';

export function summarize(namespaces: readonly AuditNamespace[], evaluations: number): AuditSummary {
  const summary: AuditSummary = {
    namespaces: namespaces.length,
    workloads: 0,
    containers: 0,
    evaluations,
    workloadOutcomes: emptyCounts(),
    wouldDeny: 0,
    byPolicy: {},
    byCheck: {},
    byNamespace: {},
  };
  for (const ns of namespaces) {
    const nsCounts = (summary.byNamespace[ns.name] ??= emptyCounts());
    for (const w of ns.workloads) {
      summary.workloads += 1;
      summary.workloadOutcomes[w.outcome] += 1;
      nsCounts[w.outcome] += 1;
      if (w.admission !== 'allow') summary.wouldDeny += 1;
      for (const c of w.containers) {
        summary.containers += 1;
        for (const p of c.image.policies) {
          const counts = (summary.byPolicy[p.policy] ??= emptyCounts());
          const outcome: AuditOutcome =
            p.result === 'fail'
              ? 'fail'
              : p.result === 'error-allowed'
                ? 'error'
                : p.result === 'exempted'
                  ? 'skip'
                  : 'pass';
          counts[outcome] += 1;
          for (const f of p.findings) {
            const check = (summary.byCheck[f.check] ??= { passed: 0, failed: 0, error: 0 });
            if (f.passed) check.passed += 1;
            else if (f.indeterminate === true) check.error += 1;
            else check.failed += 1;
          }
        }
      }
    }
  }
  return summary;
}

export function overallOutcome(namespaces: readonly AuditNamespace[]): AuditOutcome {
  return worstOutcome(namespaces.map((n) => n.outcome));
}
