/**
 * serve's cluster side beyond admissions: the background audit (reports, Lease, Events) and Events
 * on enforce-mode denials. Built only when asked for (`--background-audit`, `--events`).
 */
import { hostname } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { AuditWriter } from '../audit/writer.js';
import { startBackgroundAudit, type BackgroundAudit } from '../cluster/background.js';
import { withDenialEvents } from '../cluster/denial-events.js';
import type { Engine } from '../evaluate/engine.js';
import { createEventRecorder, type EventRecorder } from '../kube/events.js';
import { ownNamespace } from '../kube/key-secrets.js';
import { createLease } from '../kube/lease.js';
import { createClusterLister } from '../kube/list.js';
import { createReportWriter } from '../kube/reports.js';
import { REPORT_KINDS, toPolicyReports } from '../report/policy-report.js';
import type { Metrics } from '../server/metrics.js';
import type { Command } from './args.js';

type ServeCommand = Extract<Command, { command: 'serve' }>;

export interface ServeAudit {
  audit: AuditWriter;
  background?: BackgroundAudit;
  events?: EventRecorder;
  stop(): Promise<void>;
}

export function startServeAudit(
  cmd: ServeCommand,
  kubeConfig: KubeConfig | undefined,
  engine: Engine,
  audit: AuditWriter,
  metrics: Metrics,
  logger: Logger,
  env: Readonly<Record<string, string | undefined>>,
  isReady: () => boolean,
): ServeAudit {
  if (kubeConfig === undefined || (cmd.backgroundAudit === undefined && !cmd.events))
    return { audit, stop: async () => undefined };
  const identity = `${env.IMAGEGATE_POD_NAME ?? env.POD_NAME ?? hostname()}_${process.pid}`;
  const events = createEventRecorder(kubeConfig, { instance: identity, log: logger });
  let background: BackgroundAudit | undefined;
  if (cmd.backgroundAudit !== undefined) {
    const intervalMs = cmd.backgroundAudit;
    background = startBackgroundAudit({
      engine,
      lister: createClusterLister(kubeConfig),
      lease: createLease(kubeConfig, {
        namespace: ownNamespace(env),
        name: 'imagegate-audit',
        identity,
        // Held across one interval and a slow run; a dead holder's lease frees itself after this.
        durationSeconds: Math.ceil((intervalMs * 1.5) / 1000) + 60,
      }),
      reports: createReportWriter(kubeConfig, REPORT_KINDS[cmd.reports]),
      toReports: (report) => toPolicyReports(report, cmd.reports),
      events,
      intervalMs,
      log: logger,
      isReady,
      onRun: ({ report, seconds }) => {
        metrics.auditLastRun.set(Date.now() / 1000);
        metrics.auditDuration.set(seconds);
        for (const [result, n] of Object.entries(report.summary.workloadOutcomes))
          metrics.auditResults.set({ result }, n);
      },
    });
    logger.info({ intervalMs, reports: cmd.reports, identity }, 'background audit enabled');
  }
  return {
    audit: cmd.events ? withDenialEvents(audit, events) : audit,
    ...(background !== undefined ? { background } : {}),
    events,
    async stop() {
      await background?.stop();
      await events.flush();
    },
  };
}
