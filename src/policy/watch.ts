/**
 * The ImagePolicy informer: list+watch of the cluster-scoped ImagePolicy resources with
 * @kubernetes/client-node, handing the RAW documents to the caller's compile step and writing the
 * verdict back as `status.conditions` on each resource.
 *
 * - Every change (and a periodic resync that re-delivers the cache, as client-go does) calls
 *   `onChange(docs)` with all current documents; the caller compiles them, keeps its last good set,
 *   and answers which names it accepted and which it rejected (with the reason).
 * - The watch reconnects by itself when the API server closes it; on errors it restarts with
 *   exponential backoff (with jitter); a 410 Gone makes the client re-list.
 * - `ready` resolves after the first successful list has been handed to onChange: readiness waits for it.
 * - Status is written with a JSON merge patch on the status subresource, only when it changes; a 403
 *   (RBAC without imagepolicies/status patch) is logged once and tolerated.
 */
import {
  CustomObjectsApi,
  ListWatch,
  PatchStrategy,
  Watch,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { errorMessage } from '../errors.js';
import { API_GROUP, API_VERSION } from './policy.schema.js';

export const POLICY_PLURAL = 'imagepolicies';
export const POLICY_PATH = `/apis/${API_GROUP}/${API_VERSION}/${POLICY_PLURAL}`;

export interface PolicyVerdict {
  /** Names of the documents that compiled and are in force. */
  accepted: string[];
  /** Names rejected, with the message naming the field and the problem. */
  rejected: { name: string; error: string }[];
}

export interface WatchLog {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface WatchImagePoliciesOptions {
  kubeConfig: KubeConfig;
  onChange(docs: unknown[]): PolicyVerdict | Promise<PolicyVerdict>;
  log: WatchLog;
  signal?: AbortSignal;
  /** Re-deliver the cached documents this often (default 10 min); 0 disables. */
  resyncMs?: number;
  /** Reconnect backoff after an error: first delay and cap (defaults 500 ms and 30 s). */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Coalesce bursts of events into one onChange call (default 50 ms). */
  debounceMs?: number;
  /** Write status.conditions (default true). */
  writeStatus?: boolean;
  now?: () => Date;
}

export interface PolicyWatch {
  /** Resolves after the first successful sync; rejects only if stopped before it. */
  readonly ready: Promise<void>;
  readonly synced: boolean;
  /** Last list/watch error, cleared by the next successful sync (for /readyz and logs). */
  readonly lastError: string | undefined;
  stop(): Promise<void>;
}

interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

type PolicyObject = KubernetesObject & {
  metadata?: KubernetesObject['metadata'] & { generation?: number };
  status?: { conditions?: Condition[]; observedGeneration?: number };
};

function statusCode(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; statusCode?: unknown };
  if (typeof e.code === 'number') return e.code;
  if (typeof e.statusCode === 'number') return e.statusCode;
  return undefined;
}

/** The conditions to write for a verdict, keeping lastTransitionTime when the status did not flip. */
export function toConditions(
  obj: PolicyObject,
  verdict: { accepted: true } | { accepted: false; error: string },
  now: Date,
): Condition[] {
  const generation = obj.metadata?.generation;
  const status = verdict.accepted ? 'True' : 'False';
  const previous = obj.status?.conditions ?? [];
  const make = (type: string, reason: string, message: string): Condition => {
    const old = previous.find((c) => c.type === type);
    return {
      type,
      status,
      ...(generation === undefined ? {} : { observedGeneration: generation }),
      lastTransitionTime: old?.status === status ? old.lastTransitionTime : now.toISOString(),
      reason,
      message,
    };
  };
  return verdict.accepted
    ? [make('Accepted', 'Compiled', 'policy compiled'), make('Ready', 'Enforced', 'policy is in force')]
    : [
        make('Accepted', 'Invalid', verdict.error.slice(0, 32_000)),
        make('Ready', 'NotEnforced', 'policy rejected; the previous valid set stays in force'),
      ];
}

function sameConditions(a: Condition[] | undefined, b: Condition[]): boolean {
  if (a === undefined || a.length !== b.length) return false;
  return b.every((c) => {
    const o = a.find((x) => x.type === c.type);
    return (
      o !== undefined &&
      o.status === c.status &&
      o.reason === c.reason &&
      o.message === c.message &&
      o.observedGeneration === c.observedGeneration
    );
  });
}

export function watchImagePolicies(options: WatchImagePoliciesOptions): PolicyWatch {
  const { kubeConfig, log } = options;
  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  const now = options.now ?? (() => new Date());
  const initialBackoff = options.backoff?.initialMs ?? 500;
  const maxBackoff = options.backoff?.maxMs ?? 30_000;
  const writeStatus = options.writeStatus ?? true;

  const listFn = async (): Promise<KubernetesListObject<PolicyObject>> =>
    (await api.listClusterCustomObject({
      group: API_GROUP,
      version: API_VERSION,
      plural: POLICY_PLURAL,
    })) as KubernetesListObject<PolicyObject>;

  const informer = new ListWatch<PolicyObject>(POLICY_PATH, new Watch(kubeConfig), listFn, false);

  let stopped = false;
  let synced = false;
  let lastError: string | undefined;
  let backoff = initialBackoff;
  let restartTimer: NodeJS.Timeout | undefined;
  let debounceTimer: NodeJS.Timeout | undefined;
  let resyncTimer: NodeJS.Timeout | undefined;
  let forbiddenLogged = false;
  let running: Promise<void> = Promise.resolve();
  let resolveReady!: () => void;
  let rejectReady!: (err: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  ready.catch(() => undefined);

  // What this process last wrote per policy: the informer's copy lags behind our own patch, and a
  // delivery in between must not write the same conditions again.
  const written = new Map<string, Condition[]>();
  const patchStatus = async (obj: PolicyObject, conditions: Condition[]): Promise<void> => {
    const name = obj.metadata?.name;
    if (name === undefined || sameConditions(obj.status?.conditions, conditions)) return;
    const generation = obj.metadata?.generation;
    if (sameConditions(written.get(name), conditions)) return;
    written.set(name, conditions);
    const body = {
      status: { ...(generation === undefined ? {} : { observedGeneration: generation }), conditions },
    };
    try {
      await api.patchClusterCustomObjectStatus(
        { group: API_GROUP, version: API_VERSION, plural: POLICY_PLURAL, name, body },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    } catch (err) {
      written.delete(name);
      const code = statusCode(err);
      if (code === 403) {
        if (!forbiddenLogged)
          log.warn({ policy: name }, 'RBAC forbids patching imagepolicies/status; not writing conditions');
        forbiddenLogged = true;
      } else if (code === 404 || code === 409) {
        log.debug({ policy: name, code }, 'policy changed while writing its status; the next event retries');
      } else {
        log.warn({ policy: name, err: errorMessage(err) }, 'cannot write ImagePolicy status');
      }
    }
  };

  const deliver = async (reason: string): Promise<void> => {
    const objects = [...informer.list()];
    let verdict: PolicyVerdict;
    try {
      verdict = await options.onChange(objects);
    } catch (err) {
      log.error({ err: errorMessage(err), reason }, 'policy callback failed; keeping the previous set');
      return;
    }
    if (!synced) {
      synced = true;
      resolveReady();
    }
    log.debug(
      { reason, policies: objects.length, rejected: verdict.rejected.length },
      'ImagePolicy set delivered',
    );
    if (!writeStatus || stopped) return;
    const accepted = new Set(verdict.accepted);
    const rejected = new Map(verdict.rejected.map((r) => [r.name, r.error]));
    const at = now();
    await Promise.all(
      objects.map((obj) => {
        const name = obj.metadata?.name ?? '';
        const error = rejected.get(name);
        if (error !== undefined) return patchStatus(obj, toConditions(obj, { accepted: false, error }, at));
        if (accepted.has(name)) return patchStatus(obj, toConditions(obj, { accepted: true }, at));
        return undefined;
      }),
    );
  };

  /** Serialises deliveries: onChange never runs concurrently with itself. */
  const schedule = (reason: string, delay = options.debounceMs ?? 50): void => {
    if (stopped) return;
    clearTimeout(debounceTimer);
    debounceTimer = setTimeout(() => {
      running = running.then(() => deliver(reason));
    }, delay);
  };

  let failedSinceStart = false;

  const onError = (err: unknown): void => {
    if (stopped) return;
    failedSinceStart = true;
    lastError = errorMessage(err);
    const delay = Math.round(backoff * (0.8 + Math.random() * 0.4));
    log.warn(
      { err: lastError, code: statusCode(err), retryInMs: delay },
      'ImagePolicy watch failed; reconnecting',
    );
    backoff = Math.min(backoff * 2, maxBackoff);
    clearTimeout(restartTimer);
    restartTimer = setTimeout(() => void start(), delay);
  };

  /**
   * (Re)starts list+watch. ListWatch reports list and watch failures through its 'error' callback
   * and then stops, so success is "start() resolved and no error was reported meanwhile". An empty
   * list emits no event, hence the explicit delivery after a successful start.
   */
  const start = async (): Promise<void> => {
    if (stopped) return;
    failedSinceStart = false;
    try {
      await informer.start();
    } catch (err) {
      onError(err);
      return;
    }
    if (failedSinceStart || stopped) return;
    backoff = initialBackoff;
    lastError = undefined;
    schedule('list', 0);
  };

  informer.on('error', onError);
  const changed = (obj: PolicyObject): void => {
    log.debug({ policy: obj.metadata?.name }, 'ImagePolicy changed');
    schedule('change');
  };
  informer.on('add', changed);
  informer.on('update', changed);
  informer.on('delete', changed);
  void start();

  if ((options.resyncMs ?? 600_000) > 0) {
    resyncTimer = setInterval(() => synced && schedule('resync', 0), options.resyncMs ?? 600_000);
    resyncTimer.unref();
  }

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    clearTimeout(restartTimer);
    clearTimeout(debounceTimer);
    clearInterval(resyncTimer);
    if (!synced) rejectReady(new Error('ImagePolicy watch stopped before the first sync'));
    await informer.stop();
    await running;
  };
  options.signal?.addEventListener('abort', () => void stop(), { once: true });

  return {
    ready,
    get synced() {
      return synced;
    },
    get lastError() {
      return lastError;
    },
    stop,
  };
}
