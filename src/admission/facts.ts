/**
 * The facts of one admission request, computed once from keys we control: who, what, where, and (on
 * first use, since DELETE has no object) the pod spec, its images and its pull identity. Every
 * consumer — the validating review, digest pinning, the envelope and the audit record — reads these.
 */
import { imagesOf, objectName, podSpecOf, pullIdentityOf, type ContainerImage } from './pod-spec.js';
import type { AdmissionRequest } from './review.schema.js';
import type { WorkloadRef } from '../evaluate/exempt.js';
import { workloadOf } from './workload.js';

export interface PullIdentity {
  pullSecrets: string[];
  serviceAccount?: string;
}

export interface RequestFacts {
  uid: string;
  operation: string;
  dryRun: boolean;
  user?: string;
  kind: string;
  /** '' for cluster-scoped objects. */
  namespace: string;
  /** metadata.name, else generateName, else request.name, else ''. */
  name: string;
  /** "Kind namespace/name", as denial messages name the object. */
  subject: string;
  /** Images of the object; AdmissionError NO_POD_SPEC when it has no (well-formed) pod spec. */
  images(): readonly ContainerImage[];
  /** Images of oldObject; undefined when there is none, empty when it cannot be read. */
  previousImages(): ReadonlySet<string> | undefined;
  /** Whose credentials the pod pulls with; AdmissionError NO_POD_SPEC as for images(). */
  pullIdentity(): PullIdentity;
  /** The object and its controller(s), for exceptions' `spec.workloads` (admission/workload.ts). */
  workload(): readonly WorkloadRef[];
}

function once<T>(compute: () => T): () => T {
  let done = false;
  let value: T;
  return () => {
    if (!done) {
      value = compute();
      done = true;
    }
    return value;
  };
}

export function toRequestFacts(req: AdmissionRequest): RequestFacts {
  const kind = req.kind.kind;
  const namespace = req.namespace ?? '';
  const name = objectName(req.object ?? req.oldObject, req.name);
  return {
    uid: req.uid,
    operation: req.operation,
    dryRun: req.dryRun ?? false,
    ...(req.userInfo?.username !== undefined ? { user: req.userInfo.username } : {}),
    kind,
    namespace,
    name,
    subject: `${kind} ${namespace === '' ? '' : `${namespace}/`}${name}`,
    images: once(() => imagesOf(kind, req.object)),
    previousImages: once(() => {
      if (req.oldObject === undefined || req.oldObject === null) return undefined;
      try {
        return new Set(imagesOf(kind, req.oldObject).map((i) => i.image));
      } catch {
        return new Set<string>();
      }
    }),
    pullIdentity: once(() => pullIdentityOf(podSpecOf(kind, req.object).spec)),
    workload: once(() => workloadOf(kind, name, req.object)),
  };
}
