/**
 * Which workload an admitted object belongs to, for ImagePolicyException `spec.workloads`: the object
 * itself, its controller (ownerReferences with controller: true), and the controller's own owner
 * where its name says it (a ReplicaSet `web-<pod-template-hash>` of Deployment `web`). These come
 * from the object, which whoever may create pods in the namespace writes: selectors narrow an
 * exception within its namespace, the namespace is the boundary (docs/exceptions.md).
 */
import type { WorkloadRef } from '../evaluate/exempt.js';
import { isRecord } from '../shared/guards.js';

function controllerOf(metadata: Record<string, unknown>): WorkloadRef | undefined {
  const owners = metadata.ownerReferences;
  if (!Array.isArray(owners)) return undefined;
  for (const o of owners as unknown[]) {
    if (isRecord(o) && o.controller === true && typeof o.kind === 'string' && typeof o.name === 'string')
      return { kind: o.kind, name: o.name };
  }
  return undefined;
}

export function workloadOf(kind: string, name: string, object: unknown): WorkloadRef[] {
  const refs: WorkloadRef[] = [{ kind, name }];
  if (!isRecord(object) || !isRecord(object.metadata)) return refs;
  const controller = controllerOf(object.metadata);
  if (controller === undefined) return refs;
  refs.push(controller);
  const labels = isRecord(object.metadata.labels) ? object.metadata.labels : {};
  const hash = labels['pod-template-hash'];
  if (controller.kind === 'ReplicaSet' && typeof hash === 'string' && controller.name.endsWith(`-${hash}`))
    refs.push({ kind: 'Deployment', name: controller.name.slice(0, -hash.length - 1) });
  return refs;
}
