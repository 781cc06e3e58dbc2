/**
 * `serve --background-audit DURATION`: re-evaluates what runs every interval (jittered ±10%), at low
 * priority (its own small concurrency cap, yielding between images), and — only on the replica that
 * holds the Lease — writes the per-namespace reports and a Warning Event for each workload that has
 * just become would-deny. A failed run keeps the last reports. An absent report CRD is logged once and
 * shown in /readyz as degraded; serving goes on.
 */
import type { Engine } from '../evaluate/engine.js';
import { errorMessage } from '../errors.js';
import type { EventRecorder } from '../kube/events.js';
import { eventTarget, VIOLATION_REASON } from '../kube/events.js';
import type { Lease } from '../kube/lease.js';
import type { ClusterLister } from '../kube/list.js';
import type { ReportObject, ReportWriter } from '../kube/reports.js';
import type { AuditReport } from './result.js';
import { collectInventory, scanInventory } from './scan.js';

export interface BackgroundAuditLog {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface BackgroundAuditOptions {
  engine: Engine;
  lister: ClusterLister;
  lease: Lease;
  reports: ReportWriter;
  /** The audit as one report per namespace (src/report/policy-report.ts). */
  toReports: (report: AuditReport) => ReadonlyMap<string, ReportObject>;
  events?: EventRecorder;
  intervalMs: number;
  /** First run after this delay (default: a jittered 10% of the interval, at most 60 s). */
  initialDelayMs?: number;
  /**
   * A run still going after this long is stuck (a hung call, a lost promise): it is abandoned (its
   * scan aborted), /readyz says so, and the next run starts on schedule. Default: the interval, at
   * least 10 minutes.
   */
  maxRunMs?: number;
  /** Evaluations in flight (default 2: admissions come first). */
  concurrency?: number;
  log: BackgroundAuditLog;
  /** Policies are loaded (a run before that would report every image as ungoverned). */
  isReady?: () => boolean;
  onRun?: (run: { report: AuditReport; seconds: number; leader: boolean }) => void;
}

export interface BackgroundAudit {
  /** Why the audit is degraded (e.g. the report CRD is absent), for /readyz. */
  readonly degraded: string | undefined;
  readonly lastReport: AuditReport | undefined;
  /** Runs once now (tests; the loop also calls it). */
  runOnce(): Promise<void>;
  stop(): Promise<void>;
}

const jitter = (ms: number): number => Math.round(ms * (0.9 + Math.random() * 0.2));

export function startBackgroundAudit(options: BackgroundAuditOptions): BackgroundAudit {
  const { log } = options;
  /** Why the reports are not (all) written, and whether the last run was stuck: for /readyz. */
  let degraded: string | undefined;
  let stuck: string | undefined;
  const maxRunMs = options.maxRunMs ?? Math.max(options.intervalMs, 600_000);
  let lastReport: AuditReport | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const controller = new AbortController();
  /** Workloads that were would-deny in the last run (uid or ns/kind/name). */
  let wouldDenyBefore: Set<string> | undefined;

  const writeEvents = (report: AuditReport): void => {
    const now = new Set<string>();
    for (const ns of report.namespaces)
      for (const w of ns.workloads) {
        if (w.admission === 'allow') continue;
        const key = w.uid ?? `${ns.name}/${w.kind}/${w.name}`;
        now.add(key);
        if (wouldDenyBefore?.has(key) === true) continue;
        const failing = w.containers
          .filter((c) => c.image.admission !== 'allow')
          .map((c) => `${c.name}: ${c.image.reasons[0] ?? c.image.outcome}`);
        options.events?.warn(
          eventTarget(w, ns.name),
          VIOLATION_REASON,
          `${w.admission === 'deny' ? 'would be denied at admission' : 'would be denied once its policies enforce'}: ${failing.join('; ')}`,
        );
      }
    wouldDenyBefore = now;
  };

  const runOnce = async (signal: AbortSignal): Promise<void> => {
    const started = performance.now();
    if (options.isReady?.() === false) {
      log.info({}, 'background audit: policies not loaded yet; skipping this run');
      return;
    }
    const leader = await options.lease.tryAcquire();
    if (!leader) {
      // Another replica writes; forget our view so a takeover does not replay stale transitions.
      wouldDenyBefore = undefined;
      log.debug({ holder: false }, 'background audit: another replica holds the lease');
      return;
    }
    let report: AuditReport;
    try {
      const inventory = await collectInventory(options.lister, { log });
      report = await scanInventory(inventory, options.engine, {
        concurrency: options.concurrency ?? 2,
        signal,
      });
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'background audit failed; the last reports stay');
      return;
    }
    lastReport = report;
    const seconds = (performance.now() - started) / 1000;
    try {
      const written = await options.reports.write(options.toReports(report));
      const failed =
        written.failed.length === 0
          ? undefined
          : `reports not written for ${written.failed.length} namespace(s): ${written.failed.slice(0, 3).join('; ')}`;
      if (failed !== undefined && failed !== degraded) log.error({}, `background audit: ${failed}`);
      if (failed === undefined && degraded !== undefined)
        log.info({}, 'background audit: reports are written again');
      degraded = failed;
      log.info(
        {
          ...written,
          failed: written.failed.length,
          workloads: report.summary.workloads,
          wouldDeny: report.summary.wouldDeny,
        },
        'background audit: reports written',
      );
    } catch (err) {
      const message = errorMessage(err);
      if (degraded !== message) log.error({}, `background audit: cannot write reports: ${message}`);
      degraded = message;
    }
    writeEvents(report);
    options.onRun?.({ report, seconds, leader });
  };

  /** One run under the watchdog: past maxRunMs it is abandoned and aborted, and /readyz says so. */
  const guardedRun = async (): Promise<void> => {
    const run = new AbortController();
    const onStop = (): void => run.abort();
    controller.signal.addEventListener('abort', onStop, { once: true });
    let watchdog: NodeJS.Timeout | undefined;
    const overdue = new Promise<'stuck'>((resolve) => {
      watchdog = setTimeout(() => resolve('stuck'), maxRunMs);
      watchdog.unref();
    });
    try {
      const outcome = await Promise.race([runOnce(run.signal).then(() => 'done' as const), overdue]);
      if (outcome === 'stuck') {
        run.abort();
        stuck = `a run was still going after ${Math.round(maxRunMs / 1000)} s (a hung API call?): abandoned; the next one starts on schedule`;
        log.error({}, `background audit: ${stuck}`);
      } else if (stuck !== undefined) {
        log.info({}, 'background audit: runs complete again');
        stuck = undefined;
      }
    } finally {
      clearTimeout(watchdog);
      controller.signal.removeEventListener('abort', onStop);
    }
  };

  const schedule = (delay: number): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = running
        .then(guardedRun)
        .catch((err: unknown) => log.error({ err: errorMessage(err) }, 'background audit run failed'))
        .finally(() => schedule(jitter(options.intervalMs)));
    }, delay);
    timer.unref();
  };
  schedule(options.initialDelayMs ?? jitter(Math.min(options.intervalMs / 10, 60_000)));

  return {
    get degraded() {
      return [stuck, degraded].filter((d) => d !== undefined).join('; ') || undefined;
    },
    get lastReport() {
      return lastReport;
    },
    runOnce: () => (running = running.then(guardedRun)),
    async stop() {
      stopped = true;
      clearTimeout(timer);
      controller.abort();
      await running.catch(() => undefined);
      await options.events?.flush();
      await options.lease.release();
    },
  };
}
