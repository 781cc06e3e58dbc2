/**
 * Warning Events for enforce-mode denials at admission, fed from the audit records the webhook
 * writes anyway (one per decision): the admission answer never waits for them (the recorder only
 * queues). Dry runs are skipped, and so are controller-made Pods known only by generateName (their
 * controller already reports FailedCreate with the webhook's message).
 */
import { KIND_API_VERSIONS } from '../admission/pod-spec.js';
import type { AuditRecord } from '../audit/record.js';
import type { AuditWriter } from '../audit/writer.js';
import { eventTarget, VIOLATION_REASON, type EventRecorder } from '../kube/events.js';

/** What failed, in one line: image, policy, check and message. */
export function denialMessage(record: AuditRecord): string {
  const reasons: string[] = [];
  for (const i of record.images) {
    if (i.invalid !== undefined) reasons.push(`${i.image}: ${i.invalid}`);
    if (i.unmatched === 'deny')
      reasons.push(`${i.image}: no ImagePolicy governs this image (unmatched: deny)`);
    for (const p of i.policies) {
      if (p.result !== 'fail' || p.mode !== 'enforce') continue;
      for (const c of p.checks)
        if (!c.passed) reasons.push(`${i.reference ?? i.image}: policy ${p.policy} ${c.check}: ${c.message}`);
    }
  }
  return `denied at admission (${record.operation}): ${reasons.join('; ') || 'see the audit record'}`;
}

export function withDenialEvents(audit: AuditWriter, events: EventRecorder): AuditWriter {
  return {
    write(record) {
      audit.write(record);
      if (record.decision !== 'denied' || record.dryRun || record.namespace === '') return;
      if (record.name === '' || record.name.endsWith('-')) return;
      events.warn(
        eventTarget(
          { apiVersion: KIND_API_VERSIONS[record.kind], kind: record.kind, name: record.name },
          record.namespace,
        ),
        VIOLATION_REASON,
        denialMessage(record),
      );
    },
    flush: () => audit.flush(),
  };
}
