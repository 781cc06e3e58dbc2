/** An AuditReport around `namespaces`, as `imagegate audit` writes one, for the report converters' tests. */
import type { AuditNamespace, AuditReport } from '../../src/cluster/result.js';
import { summarize } from '../../src/cluster/summary.js';

export function auditReportOf(
  namespaces: AuditNamespace[],
  evaluations: number,
  over: Partial<Omit<AuditReport, 'namespaces' | 'summary'>>,
): AuditReport {
  return {
    apiVersion: 'imagegate.dev/v1alpha1',
    kind: 'AuditReport',
    generatedAt: '2026-12-01T12:00:00.000Z',
    durationMs: 1,
    scope: { namespaces: 'all', policies: ['p'], unmatched: 'allow' },
    outcome: 'pass',
    summary: summarize(namespaces, evaluations),
    namespaces,
    ...over,
  };
}
