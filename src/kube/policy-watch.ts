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
 * - Status conditions are written by ./policy-status.ts (merge patch, only on change).
 */
import {
  CustomObjectsApi,
  ListWatch,
  Watch,
  type KubeConfig,
  type KubernetesListObject,
} from '@kubernetes/client-node';
import { errorMessage } from '../errors.js';
import { API_GROUP, API_VERSION } from '../policy/policy.schema.js';
import {
  IMAGE_POLICIES,
  createStatusWriter,
  resourceId,
  toConditions,
  toPhaseConditions,
  type PolicyObject,
  type WatchedResource,
} from './policy-status.js';
import { statusCode } from './status-code.js';
import type { PolicyVerdict } from '../policy/cluster-policies.js';

export type { PolicyVerdict };

export {
  IMAGE_POLICIES,
  IMAGE_POLICY_EXCEPTIONS,
  NAMESPACED_IMAGE_POLICIES,
  POLICY_PATH,
  POLICY_PLURAL,
  toConditions,
  type WatchedResource,
} from './policy-status.js';

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
  /** What to watch: default the cluster's ImagePolicies. */
  resource?: WatchedResource;
  /**
   * A 404 on the list (the CRD is not installed, e.g. a `helm upgrade` that did not apply the chart's
   * new CRDs) means there are none: deliver the empty set, so readiness does not wait for a kind that
   * cannot have objects, and keep retrying until it appears. For ImagePolicies it stays an error.
   */
  absentIsEmpty?: boolean;
}

export interface PolicyWatch {
  /** Resolves after the first successful sync; rejects only if stopped before it. */
  readonly ready: Promise<void>;
  readonly synced: boolean;
  /** Last list/watch error, cleared by the next successful sync (for /readyz and logs). */
  readonly lastError: string | undefined;
  stop(): Promise<void>;
  /** Delivers the cached documents again (the set something else depends on changed). */
  resync(): void;
}

export function watchImagePolicies(options: WatchImagePoliciesOptions): PolicyWatch {
  const { kubeConfig, log } = options;
  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  const now = options.now ?? (() => new Date());
  const initialBackoff = options.backoff?.initialMs ?? 500;
  const maxBackoff = options.backoff?.maxMs ?? 30_000;
  const writeStatus = options.writeStatus ?? true;
  const resource = options.resource ?? IMAGE_POLICIES;
  const kind = resource.kind;

  const listFn = async (): Promise<KubernetesListObject<PolicyObject>> => {
    const target = { group: API_GROUP, version: API_VERSION, plural: resource.plural };
    return (await (resource.namespaced
      ? api.listCustomObjectForAllNamespaces(target)
      : api.listClusterCustomObject(target))) as KubernetesListObject<PolicyObject>;
  };

  const path = `/apis/${API_GROUP}/${API_VERSION}/${resource.plural}`;
  const informer = new ListWatch<PolicyObject>(path, new Watch(kubeConfig), listFn, false);
  let recheckTimer: NodeJS.Timeout | undefined;

  let stopped = false;
  let synced = false;
  let lastError: string | undefined;
  let backoff = initialBackoff;
  let restartTimer: NodeJS.Timeout | undefined;
  let debounceTimer: NodeJS.Timeout | undefined;
  let resyncTimer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let resolveReady!: () => void;
  let rejectReady!: (err: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  ready.catch(() => undefined);

  const status = createStatusWriter(api, log, resource);
  const deliver = async (reason: string): Promise<void> => {
    const objects = [...informer.list()];
    let verdict: PolicyVerdict;
    try {
      verdict = await options.onChange(objects);
    } catch (err) {
      log.error({ err: errorMessage(err), reason }, 'policy callback failed; keeping the previous set');
      return;
    }
    clearTimeout(recheckTimer);
    if (verdict.recheckAt !== undefined && !stopped) {
      // Phases that change by themselves (an exception expiring): deliver again at that second.
      const wait = Math.min(Math.max(verdict.recheckAt - Date.now(), 0) + 1, 2 ** 31 - 1);
      recheckTimer = setTimeout(() => schedule('expiry', 0), wait);
      recheckTimer.unref();
    }
    if (!synced) {
      synced = true;
      resolveReady();
    }
    log.debug(
      { reason, policies: objects.length, rejected: verdict.rejected.length },
      `${kind} set delivered`,
    );
    if (!writeStatus || stopped) return;
    const accepted = new Set(verdict.accepted);
    const rejected = new Map(verdict.rejected.map((r) => [r.name, r.error]));
    const states = new Map((verdict.states ?? []).map((st) => [st.name, st]));
    const degraded = new Map<string, string>();
    for (const d of verdict.degraded ?? []) {
      const before = degraded.get(d.name);
      degraded.set(d.name, before === undefined ? d.error : `${before}; ${d.error}`);
    }
    const at = now();
    await Promise.all(
      objects.map((obj) => {
        const name = resourceId(resource, obj);
        const state = states.get(name);
        if (state !== undefined) return status(obj, toPhaseConditions(obj, state, at));
        const error = rejected.get(name);
        if (error !== undefined) return status(obj, toConditions(obj, { accepted: false, error }, at));
        if (accepted.has(name)) {
          const problem = degraded.get(name);
          const verdictOf =
            problem === undefined
              ? { accepted: true as const }
              : { accepted: true as const, degraded: problem };
          return status(obj, toConditions(obj, verdictOf, at));
        }
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

  let absentLogged = false;
  const onError = (err: unknown): void => {
    if (stopped) return;
    failedSinceStart = true;
    const code = statusCode(err);
    const delay = Math.round(backoff * (0.8 + Math.random() * 0.4));
    if (code === 404 && options.absentIsEmpty === true) {
      if (!absentLogged)
        log.warn(
          { retryInMs: delay },
          `${kind} is not installed (404): none apply until it is (apply the chart's crds/)`,
        );
      absentLogged = true;
      if (!synced) schedule('absent', 0); // the informer's list is empty
    } else {
      lastError = errorMessage(err);
      log.warn({ err: lastError, code, retryInMs: delay }, `${kind} watch failed; reconnecting`);
    }
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
    // An event means the list went through: readiness (which these events can bring before start()
    // resolves) must not see the previous attempt's error.
    lastError = undefined;
    log.debug({ policy: obj.metadata?.name }, `${kind} changed`);
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
    clearTimeout(recheckTimer);
    if (!synced) rejectReady(new Error(`${kind} watch stopped before the first sync`));
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
    resync: () => {
      if (synced) schedule('resync', 0);
    },
  };
}
