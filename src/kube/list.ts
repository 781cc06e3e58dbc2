/**
 * Lists what runs, page by page (`limit`/`continue`), so memory holds one page at a time: Pods and
 * the workload kinds that carry a pod template, and Namespaces (for label selectors). Each page is
 * retried on 429/5xx; an expired continue token (410) restarts that kind's list. RBAC: list on each.
 */
import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  type KubeConfig,
  type V1ListMeta,
  type V1ObjectMeta,
} from '@kubernetes/client-node';
import { withRetry, type RetryOptions } from './retry.js';
import { statusCode } from './status-code.js';
import { withTimeouts } from './with-timeout.js';

export const WORKLOAD_KINDS = [
  'Pod',
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'ReplicaSet',
  'Job',
  'CronJob',
  'ReplicationController',
] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];
export type ListedKind = WorkloadKind | 'Namespace';

/** One listed object: its kind, metadata and the rest as the API server sent it. */
export interface ListedObject {
  kind: ListedKind;
  metadata: V1ObjectMeta;
  [field: string]: unknown;
}

interface PageRequest {
  limit: number;
  _continue?: string;
}
interface Page {
  items: object[];
  metadata?: V1ListMeta;
}
type Lister = (req: PageRequest & { namespace?: string }) => Promise<Page>;

/**
 * A kind's lister from its client-node API and its two list methods: namespaced when a namespace is
 * given, else across all namespaces.
 */
function either<
  All extends string,
  One extends string,
  Api extends Record<All, (r: PageRequest) => Promise<Page>> &
    Record<One, (r: PageRequest & { namespace: string }) => Promise<Page>>,
>(api: Api, all: All, one: One): Lister {
  return ({ namespace, ...r }) => (namespace === undefined ? api[all](r) : api[one]({ ...r, namespace }));
}

function listers(kc: KubeConfig): Record<ListedKind, Lister> {
  const core = withTimeouts(kc.makeApiClient(CoreV1Api));
  const apps = withTimeouts(kc.makeApiClient(AppsV1Api));
  const batch = withTimeouts(kc.makeApiClient(BatchV1Api));
  return {
    Pod: either(core, 'listPodForAllNamespaces', 'listNamespacedPod'),
    Deployment: either(apps, 'listDeploymentForAllNamespaces', 'listNamespacedDeployment'),
    StatefulSet: either(apps, 'listStatefulSetForAllNamespaces', 'listNamespacedStatefulSet'),
    DaemonSet: either(apps, 'listDaemonSetForAllNamespaces', 'listNamespacedDaemonSet'),
    ReplicaSet: either(apps, 'listReplicaSetForAllNamespaces', 'listNamespacedReplicaSet'),
    Job: either(batch, 'listJobForAllNamespaces', 'listNamespacedJob'),
    CronJob: either(batch, 'listCronJobForAllNamespaces', 'listNamespacedCronJob'),
    ReplicationController: either(
      core,
      'listReplicationControllerForAllNamespaces',
      'listNamespacedReplicationController',
    ),
    Namespace: ({ namespace, ...r }) =>
      namespace === undefined
        ? core.listNamespace(r)
        : core.readNamespace({ name: namespace }).then((ns) => ({ items: [ns] })),
  };
}

export interface ListOptions {
  /** Only these namespaces (default: all). */
  namespaces?: readonly string[];
  /** Items per page (default 500, as kubectl). */
  pageSize?: number;
  retry?: RetryOptions;
  /** Called once per page received (progress, metrics). */
  onPage?: (kind: ListedKind, items: number) => void;
}

export interface ClusterLister {
  /** Streams every object of a kind, page by page. */
  list(kind: ListedKind, options?: ListOptions): AsyncGenerator<ListedObject>;
}

export function createClusterLister(kubeConfig: KubeConfig): ClusterLister {
  const byKind = listers(kubeConfig);
  async function* listScope(
    kind: ListedKind,
    namespace: string | undefined,
    options: ListOptions,
  ): AsyncGenerator<ListedObject> {
    const limit = options.pageSize ?? 500;
    let token: string | undefined;
    let restarts = 0;
    // A plain loop, not do/while: `continue` after a 410 must start over, not test `token` (undefined
    // then) and end the list after its first page, as it did until the real API server showed it.
    for (;;) {
      let page: Page;
      try {
        page = await withRetry(
          () =>
            byKind[kind]({
              limit,
              ...(token !== undefined ? { _continue: token } : {}),
              ...(namespace !== undefined ? { namespace } : {}),
            }),
          options.retry,
        );
      } catch (err) {
        // The continue token expired (410 Gone): list again from the start, a few times at most.
        if (statusCode(err) === 410 && token !== undefined && restarts < 3) {
          restarts += 1;
          token = undefined;
          continue;
        }
        throw err;
      }
      options.onPage?.(kind, page.items.length);
      for (const item of page.items) yield { ...(item as ListedObject), kind };
      token = page.metadata?._continue || undefined;
      if (token === undefined) return;
    }
  }
  return {
    async *list(kind, options = {}) {
      if (options.namespaces === undefined || options.namespaces.length === 0) {
        yield* listScope(kind, undefined, options);
        return;
      }
      for (const ns of options.namespaces) yield* listScope(kind, ns, options);
    },
  };
}
