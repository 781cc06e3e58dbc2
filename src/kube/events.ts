/**
 * Warning Events (`ImagePolicyViolation`) on workloads, never in an admission's way: `warn()` only
 * queues; a bounded queue, a token bucket and a dedupe window drop the excess. The Event's name is
 * derived from object, reason and message, so a repeat (from this replica after the window, or from
 * another replica) finds it (409) and bumps its count instead of adding another. RBAC: create, get
 * and patch on events.
 */
import { createHash } from 'node:crypto';
import {
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type CoreV1Event,
  type KubeConfig,
} from '@kubernetes/client-node';
import { errorMessage } from '../errors.js';
import { TtlCache } from '../shared/cache.js';
import { statusCode } from './status-code.js';
import { withTimeouts } from './with-timeout.js';

export const VIOLATION_REASON = 'ImagePolicyViolation';

export interface EventTarget {
  apiVersion?: string;
  kind: string;
  name: string;
  namespace: string;
  uid?: string;
}

/** An Event's object from a reference to it: the fields involvedObject takes, absent ones left out. */
export function eventTarget(
  ref: { apiVersion?: string | undefined; kind: string; name: string; uid?: string | undefined },
  namespace: string,
): EventTarget {
  return {
    ...(ref.apiVersion !== undefined ? { apiVersion: ref.apiVersion } : {}),
    kind: ref.kind,
    name: ref.name,
    namespace,
    ...(ref.uid !== undefined ? { uid: ref.uid } : {}),
  };
}

export interface EventRecorderOptions {
  /** reportingInstance: this replica. */
  instance: string;
  /** Events per second on average, and the burst (defaults 5 and 20). */
  perSecond?: number;
  burst?: number;
  /** The same event is sent again at most this often (default 10 min). */
  dedupeMs?: number;
  /** Pending events at most (default 200); more are dropped. */
  maxQueue?: number;
  log?: { debug(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  now?: () => number;
}

export interface EventRecorder {
  /** Queues a Warning; returns at once. False when dropped (duplicate, rate limit, full queue). */
  warn(target: EventTarget, reason: string, message: string): boolean;
  /** Resolves when the queue is empty (tests, shutdown). */
  flush(): Promise<void>;
  readonly dropped: number;
}

const MAX_MESSAGE = 1024;

/**
 * `<object name>.imagegate-<digest>`: a valid DNS subdomain (at most 253 characters, each label
 * starting and ending with a letter or digit) for any object name: the name is cut at 200
 * characters and then loses trailing `-` and `.` (a cut at `web-` gave `web-.imagegate-…`, refused).
 */
export function eventName(objectName: string, digest: string): string {
  const base = objectName
    .toLowerCase()
    .slice(0, 200)
    .replace(/[^a-z0-9]+$/, '')
    .replace(/^[^a-z0-9]+/, '');
  return `${base === '' ? 'object' : base}.imagegate-${digest}`;
}

export function createEventRecorder(kubeConfig: KubeConfig, options: EventRecorderOptions): EventRecorder {
  const api = withTimeouts(kubeConfig.makeApiClient(CoreV1Api));
  const now = options.now ?? Date.now;
  const perSecond = options.perSecond ?? 5;
  const burst = options.burst ?? 20;
  const dedupeMs = options.dedupeMs ?? 600_000;
  const maxQueue = options.maxQueue ?? 200;
  const recent = new TtlCache<true>(10_000, now);
  const queue: (() => Promise<void>)[] = [];
  let tokens = burst;
  let refilled = now();
  let dropped = 0;
  let draining: Promise<void> = Promise.resolve();
  let running = false;

  const take = (): boolean => {
    const t = now();
    tokens = Math.min(burst, tokens + ((t - refilled) / 1000) * perSecond);
    refilled = t;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };

  const send = async (target: EventTarget, reason: string, message: string, name: string): Promise<void> => {
    const at = new Date(now());
    const body: CoreV1Event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace: target.namespace },
      involvedObject: eventTarget(target, target.namespace),
      reason,
      message,
      type: 'Warning',
      count: 1,
      firstTimestamp: at,
      lastTimestamp: at,
      source: { component: 'imagegate' },
      reportingComponent: 'imagegate.dev/imagegate',
      reportingInstance: options.instance,
    };
    try {
      await api.createNamespacedEvent({ namespace: target.namespace, body });
    } catch (err) {
      if (statusCode(err) !== 409) throw err;
      const existing = await api.readNamespacedEvent({ name, namespace: target.namespace });
      await api.patchNamespacedEvent(
        { name, namespace: target.namespace, body: { count: (existing.count ?? 1) + 1, lastTimestamp: at } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    }
  };

  const drain = async (): Promise<void> => {
    running = true;
    while (queue.length > 0) await queue.shift()!();
    running = false;
  };

  return {
    warn(target, reason, text) {
      const message = text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE - 1)}…` : text;
      const digest = createHash('sha256')
        .update(
          `${target.namespace}\n${target.kind}\n${target.name}\n${target.uid ?? ''}\n${reason}\n${message}`,
        )
        .digest('hex')
        .slice(0, 16);
      const name = eventName(target.name, digest);
      if (recent.get(name) !== undefined || queue.length >= maxQueue || !take()) {
        dropped += 1;
        options.log?.debug(
          { namespace: target.namespace, kind: target.kind, name: target.name },
          'event dropped',
        );
        return false;
      }
      recent.set(name, true, dedupeMs);
      queue.push(() =>
        send(target, reason, message, name).catch((err: unknown) => {
          recent.delete(name); // let a later occurrence try again
          options.log?.warn(
            { namespace: target.namespace, kind: target.kind, name: target.name, code: statusCode(err) },
            `cannot write Event: ${errorMessage(err).slice(0, 200)}`,
          );
        }),
      );
      if (!running) draining = drain();
      return true;
    },
    async flush() {
      while (running || queue.length > 0) await draining;
    },
    get dropped() {
      return dropped;
    },
  };
}
