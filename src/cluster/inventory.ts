/**
 * What runs, grouped by top-level owner: each Pod goes under the object at the top of its controller
 * chain (Pod → ReplicaSet → Deployment, Pod → Job → CronJob); workloads without an owner contribute
 * their own template (a CronJob with no pod running now still counts). Intermediate objects (a
 * Deployment's ReplicaSets) add nothing of their own: their running pods speak for them. Only compact
 * facts are kept per object, so a listing streams through in bounded memory.
 */
import type { V1OwnerReference } from '@kubernetes/client-node';
import { imagesOf, KIND_API_VERSIONS, type ContainerImage } from '../admission/pod-spec.js';
import type { ListedObject } from '../kube/list.js';

export interface WorkloadRef {
  kind: string;
  apiVersion?: string;
  namespace: string;
  name: string;
  uid?: string;
}

export interface Workload extends WorkloadRef {
  /** Pods grouped under it now. */
  pods: number;
  /** Distinct (container, image) pairs from its template and its pods. */
  containers: ContainerImage[];
}

export interface Inventory {
  /** Labels per listed Namespace (absent: not listed, label selectors then apply). */
  namespaceLabels: Map<string, Record<string, string>>;
  workloads: Workload[];
}

interface Node extends WorkloadRef {
  owner?: V1OwnerReference;
  images: ContainerImage[];
}

function controllerOf(refs: V1OwnerReference[] | undefined): V1OwnerReference | undefined {
  return refs?.find((r) => r.controller === true) ?? refs?.[0];
}

export class InventoryBuilder {
  private readonly nodes = new Map<string, Node>();
  private readonly namespaceLabels = new Map<string, Record<string, string>>();
  private anonymous = 0;

  add(obj: ListedObject): void {
    const meta = obj.metadata;
    if (obj.kind === 'Namespace') {
      if (meta.name !== undefined) this.namespaceLabels.set(meta.name, { ...(meta.labels ?? {}) });
      return;
    }
    let images: ContainerImage[];
    try {
      images = imagesOf(obj.kind, obj);
    } catch {
      images = []; // no readable pod spec: nothing to evaluate
    }
    const uid = meta.uid ?? `anonymous-${++this.anonymous}`;
    const owner = controllerOf(meta.ownerReferences);
    // A relist after an expired continue token delivers objects again: the uid keeps one copy.
    this.nodes.set(uid, {
      kind: obj.kind,
      apiVersion: KIND_API_VERSIONS[obj.kind] ?? 'v1',
      namespace: meta.namespace ?? '',
      name: meta.name ?? meta.generateName ?? '',
      uid,
      ...(owner !== undefined ? { owner } : {}),
      images,
    });
  }

  /** The top of a node's controller chain: a listed object, or the unlisted owner it names. */
  private topOf(node: Node): WorkloadRef {
    let current = node;
    for (let depth = 0; depth < 8 && current.owner !== undefined; depth++) {
      const parent = this.nodes.get(current.owner.uid);
      if (parent === undefined) {
        // Owned by a kind imagegate does not list (an operator's resource): that owner is the workload.
        return {
          kind: current.owner.kind,
          apiVersion: current.owner.apiVersion,
          namespace: current.namespace,
          name: current.owner.name,
          uid: current.owner.uid,
        };
      }
      current = parent;
    }
    const { kind, apiVersion, namespace, name, uid } = current;
    return {
      kind,
      ...(apiVersion !== undefined ? { apiVersion } : {}),
      namespace,
      name,
      ...(uid !== undefined ? { uid } : {}),
    };
  }

  build(): Inventory {
    const workloads = new Map<string, Workload>();
    const keys = new Map<string, Set<string>>();
    const workloadOf = (ref: WorkloadRef): Workload => {
      const key = ref.uid ?? `${ref.namespace}/${ref.kind}/${ref.name}`;
      let w = workloads.get(key);
      if (w === undefined) {
        w = { ...ref, pods: 0, containers: [] };
        workloads.set(key, w);
        keys.set(key, new Set());
      }
      return w;
    };
    const addImages = (w: Workload, images: ContainerImage[]): void => {
      const seen = keys.get(w.uid ?? `${w.namespace}/${w.kind}/${w.name}`) ?? new Set<string>();
      for (const i of images) {
        const k = `${i.field}\n${i.container}\n${i.image}`;
        if (seen.has(k)) continue;
        seen.add(k);
        w.containers.push(i);
      }
    };
    for (const node of this.nodes.values()) {
      const top = this.topOf(node);
      const isTop = top.uid === node.uid;
      if (node.kind === 'Pod') {
        const w = workloadOf(top);
        w.pods += 1;
        addImages(w, node.images);
      } else if (isTop) {
        addImages(workloadOf(top), node.images);
      }
    }
    const sorted = [...workloads.values()].sort(
      (a, b) =>
        a.namespace.localeCompare(b.namespace) ||
        a.kind.localeCompare(b.kind) ||
        a.name.localeCompare(b.name),
    );
    return { namespaceLabels: this.namespaceLabels, workloads: sorted };
  }
}
