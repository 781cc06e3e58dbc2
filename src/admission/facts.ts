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

/**
 * The facts of one request. A class, its derived facts computed on first use and kept in fields:
 * four `once` closures and their contexts per review were a measurable part of a cached review's
 * allocations (docs/benchmarks.md, issue 26 round 9).
 */
class Facts implements RequestFacts {
  readonly uid: string;
  readonly operation: string;
  readonly dryRun: boolean;
  readonly user?: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly subject: string;
  readonly #req: AdmissionRequest;
  #images: readonly ContainerImage[] | undefined;
  #previous: { value: ReadonlySet<string> | undefined } | undefined;
  #pullIdentity: PullIdentity | undefined;
  #workload: readonly WorkloadRef[] | undefined;

  constructor(req: AdmissionRequest) {
    this.#req = req;
    const kind = req.kind.kind;
    const namespace = req.namespace ?? '';
    const name = objectName(req.object ?? req.oldObject, req.name);
    this.uid = req.uid;
    this.operation = req.operation;
    this.dryRun = req.dryRun ?? false;
    if (req.userInfo?.username !== undefined) this.user = req.userInfo.username;
    this.kind = kind;
    this.namespace = namespace;
    this.name = name;
    this.subject = `${kind} ${namespace === '' ? '' : `${namespace}/`}${name}`;
  }

  images(): readonly ContainerImage[] {
    return (this.#images ??= imagesOf(this.kind, this.#req.object));
  }

  previousImages(): ReadonlySet<string> | undefined {
    this.#previous ??= { value: this.#previousOf(this.#req.oldObject) };
    return this.#previous.value;
  }

  #previousOf(old: unknown): ReadonlySet<string> | undefined {
    if (old === undefined || old === null) return undefined;
    try {
      return new Set(imagesOf(this.kind, old).map((i) => i.image));
    } catch {
      return new Set<string>();
    }
  }

  pullIdentity(): PullIdentity {
    return (this.#pullIdentity ??= pullIdentityOf(podSpecOf(this.kind, this.#req.object).spec));
  }

  workload(): readonly WorkloadRef[] {
    return (this.#workload ??= workloadOf(this.kind, this.name, this.#req.object));
  }
}

export function toRequestFacts(req: AdmissionRequest): RequestFacts {
  return new Facts(req);
}
