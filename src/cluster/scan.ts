/**
 * The audit run: list what runs (src/kube/list.ts), group it by top-level owner (./inventory.ts), and
 * evaluate every distinct image once per namespace policy set with the webhook's engine (the same
 * evaluator, caches and budgets), with its own concurrency cap. Namespaces whose labels select the
 * same policies share evaluations.
 */
import type { Engine } from '../evaluate/engine.js';
import { allowedVerdict } from '../evaluate/decision.js';
import { errorMessage } from '../errors.js';
import { evaluateImages } from '../evaluate/evaluate.js';
import { exceptionSummaries, type WorkloadRef } from '../evaluate/exempt.js';
import { WORKLOAD_KINDS, type ClusterLister, type ListOptions } from '../kube/list.js';
import { statusCode } from '../kube/status-code.js';
import { forManyListeners } from '../review/deadline.js';
import { toAuditImage } from './image-result.js';
import { InventoryBuilder, type Inventory } from './inventory.js';
import {
  strictestAdmission,
  worstOutcome,
  type AuditImage,
  type AuditNamespace,
  type AuditReport,
} from './result.js';
import { overallOutcome, summarize } from './summary.js';

export interface CollectOptions extends Pick<ListOptions, 'pageSize' | 'retry' | 'onPage'> {
  namespaces?: readonly string[];
  log?: { warn(obj: object, msg: string): void };
}

/** Streams Namespaces and every workload kind into an inventory. */
export async function collectInventory(
  lister: ClusterLister,
  options: CollectOptions = {},
): Promise<Inventory> {
  const builder = new InventoryBuilder();
  const list: ListOptions = {
    ...(options.namespaces !== undefined ? { namespaces: options.namespaces } : {}),
    ...(options.pageSize !== undefined ? { pageSize: options.pageSize } : {}),
    ...(options.retry !== undefined ? { retry: options.retry } : {}),
    ...(options.onPage !== undefined ? { onPage: options.onPage } : {}),
  };
  try {
    for await (const ns of lister.list('Namespace', list)) builder.add(ns);
  } catch (err) {
    // Without namespace labels, label selectors apply (fail closed), as at admission.
    if (statusCode(err) !== 403 && statusCode(err) !== 404) throw err;
    options.log?.warn({ code: statusCode(err) }, `cannot read namespaces: ${errorMessage(err)}`);
  }
  for (const kind of WORKLOAD_KINDS) for await (const obj of lister.list(kind, list)) builder.add(obj);
  return builder.build();
}

export interface ScanOptions {
  /** Evaluations in flight at once (default 4). */
  concurrency?: number;
  /** Budget per image evaluation (default 60 s). */
  imageTimeoutMs?: number;
  signal?: AbortSignal;
  /** Images done / total, after each evaluation. */
  onProgress?: (done: number, total: number) => void;
  /** Scope for the report header. */
  namespaces?: readonly string[];
  now?: () => number;
}

/** Runs tasks with at most `limit` in flight, yielding to the event loop between them. */
async function pool<T>(tasks: readonly (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results = new Array<T>(tasks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
      // Background runs share the process with admissions: let queued requests go first.
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, tasks.length)) }, worker));
  return results;
}

export async function scanInventory(
  inventory: Inventory,
  engine: Engine,
  options: ScanOptions = {},
): Promise<AuditReport> {
  const now = options.now ?? Date.now;
  const started = now();
  const policies = engine.policies();
  const timeoutMs = options.imageTimeoutMs ?? 60_000;

  // One evaluation per (policy set of the namespace, image).
  const policySetOf = new Map<string, string>();
  for (const w of inventory.workloads) {
    if (policySetOf.has(w.namespace)) continue;
    const labels = inventory.namespaceLabels.get(w.namespace);
    policySetOf.set(
      w.namespace,
      policies
        .filter((p) => p.matchesNamespace(w.namespace, labels))
        .map((p) => p.name)
        .join('\n'),
    );
  }
  const evaluations = new Map<
    string,
    { namespace: string; image: string; workload?: WorkloadRef; result?: AuditImage }
  >();
  // Where an exception could apply (its namespace), the workload is part of what decides.
  const exceptions = engine.exceptions?.() ?? [];
  const excepted = new Set(exceptions.map((e) => e.namespace));
  const keyOf = (w: { namespace: string; kind: string; name: string }, image: string): string =>
    excepted.has(w.namespace)
      ? `${w.namespace}\0${w.kind}/${w.name}\0${image}`
      : `${policySetOf.get(w.namespace)}\0${image}`;
  for (const w of inventory.workloads)
    for (const c of w.containers) {
      const key = keyOf(w, c.image);
      if (!evaluations.has(key))
        evaluations.set(key, {
          namespace: w.namespace,
          image: c.image,
          ...(excepted.has(w.namespace) ? { workload: { kind: w.kind, name: w.name } } : {}),
        });
    }
  const clock = engine.now ?? Date.now;

  let done = 0;
  const total = evaluations.size;
  const tasks = [...evaluations.values()].map((e) => async (): Promise<void> => {
    const signal = forManyListeners(
      options.signal !== undefined
        ? AbortSignal.any([options.signal, AbortSignal.timeout(timeoutMs)])
        : AbortSignal.timeout(timeoutMs),
    );
    const labels = inventory.namespaceLabels.get(e.namespace);
    try {
      const needsRegistry = policies.some((p) => p.checks.length > 0);
      const registry = needsRegistry
        ? await engine.registry?.({ namespace: e.namespace, deadline: now() + timeoutMs })
        : undefined;
      const verdict = await evaluateImages([e.image], policies, engine.settings, {
        namespace: e.namespace,
        signal,
        ...(labels !== undefined ? { namespaceLabels: labels } : {}),
        ...(registry !== undefined ? { registry } : {}),
        ...(e.workload !== undefined
          ? { exceptions: { exceptions, workload: [e.workload], now: clock() } }
          : {}),
      });
      e.result = toAuditImage(e.image, verdict);
    } catch (err) {
      // Not a verdict about the image: report it as not checked and go on with the others.
      e.result = {
        ...toAuditImage(e.image, allowedVerdict()),
        outcome: 'error',
        reasons: [`not checked: ${errorMessage(err)}`],
      };
    }
    done += 1;
    options.onProgress?.(done, total);
  });
  await pool(tasks, options.concurrency ?? 4);

  const byNamespace = new Map<string, AuditNamespace>();
  for (const w of inventory.workloads) {
    let ns = byNamespace.get(w.namespace);
    if (ns === undefined) {
      ns = { name: w.namespace, outcome: 'pass', workloads: [] };
      byNamespace.set(w.namespace, ns);
    }
    const containers = w.containers.map((c) => ({
      name: c.container,
      field: c.field,
      image: evaluations.get(keyOf(w, c.image))?.result ?? toAuditImage(c.image, allowedVerdict()),
    }));
    ns.workloads.push({
      kind: w.kind,
      ...(w.apiVersion !== undefined ? { apiVersion: w.apiVersion } : {}),
      name: w.name,
      ...(w.uid !== undefined ? { uid: w.uid } : {}),
      pods: w.pods,
      outcome: worstOutcome(containers.map((c) => c.image.outcome)),
      admission: strictestAdmission(containers.map((c) => c.image.admission)),
      containers,
    });
  }
  const namespaces = [...byNamespace.values()];
  for (const ns of namespaces) ns.outcome = worstOutcome(ns.workloads.map((w) => w.outcome));
  const settings = engine.settings;
  return {
    apiVersion: 'imagegate.dev/v1alpha1',
    kind: 'AuditReport',
    generatedAt: new Date(started).toISOString(),
    durationMs: Math.max(0, now() - started),
    scope: {
      namespaces:
        options.namespaces !== undefined && options.namespaces.length > 0 ? [...options.namespaces] : 'all',
      policies: policies.map((p) => p.name),
      unmatched: settings.unmatched ?? 'default',
      ...(settings.modeOverride !== undefined ? { mode: settings.modeOverride } : {}),
    },
    outcome: overallOutcome(namespaces),
    summary: summarize(namespaces, total),
    namespaces,
    ...(exceptions.length > 0
      ? {
          exceptions: exceptionSummaries(exceptions, clock(), (name) =>
            policies.some((p) => p.name === name),
          ),
        }
      : {}),
  };
}
