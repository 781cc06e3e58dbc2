/**
 * Workload → pod spec → images. Every image of containers, initContainers, ephemeralContainers and
 * image volumes, with the JSON path it came from (for messages and for /mutate patches).
 */
import { AdmissionError } from '../errors.js';
import { isRecord } from '../shared/guards.js';

export const POD_SPEC_PATHS: Readonly<Record<string, readonly string[]>> = {
  Pod: ['spec'],
  PodTemplate: ['template', 'spec'],
  Deployment: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  ReplicationController: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};

export const SUPPORTED_KINDS = Object.keys(POD_SPEC_PATHS);

/** The API group/version of each supported kind (Events and reports name the object with it). */
export const KIND_API_VERSIONS: Readonly<Record<string, string>> = {
  Pod: 'v1',
  PodTemplate: 'v1',
  ReplicationController: 'v1',
  Deployment: 'apps/v1',
  StatefulSet: 'apps/v1',
  DaemonSet: 'apps/v1',
  ReplicaSet: 'apps/v1',
  Job: 'batch/v1',
  CronJob: 'batch/v1',
};

const CONTAINER_FIELDS = ['initContainers', 'containers', 'ephemeralContainers'] as const;
/** `volumes`: image volumes (`volumes[].image.reference`, Kubernetes 1.31+) run registry content too. */
export type ContainerField = (typeof CONTAINER_FIELDS)[number] | 'volumes';

export interface ContainerImage {
  /** The image exactly as written. */
  image: string;
  container: string;
  field: ContainerField;
  /** JSON pointer of the image field inside the object, e.g. /spec/template/spec/containers/0/image */
  pointer: string;
}

/** The pod spec of a supported object, with its JSON pointer; AdmissionError NO_POD_SPEC otherwise. */
export function podSpecOf(kind: string, object: unknown): { spec: Record<string, unknown>; pointer: string } {
  const path = POD_SPEC_PATHS[kind];
  if (path === undefined) {
    throw new AdmissionError(
      'NO_POD_SPEC',
      `kind ${kind.slice(0, 64)} has no pod spec: imagegate reviews ${SUPPORTED_KINDS.join(', ')} (check the webhook rules)`,
    );
  }
  let node: unknown = object;
  for (const key of path) {
    if (!isRecord(node)) break;
    node = node[key];
  }
  if (!isRecord(node)) {
    throw new AdmissionError('NO_POD_SPEC', `${kind} object has no ${path.join('.')} (pod spec)`);
  }
  return { spec: node, pointer: `/${path.join('/')}` };
}

/** All images of the object; AdmissionError when a container entry is malformed. */
export function imagesOf(kind: string, object: unknown): ContainerImage[] {
  const { spec, pointer } = podSpecOf(kind, object);
  const out: ContainerImage[] = [];
  for (const field of CONTAINER_FIELDS) {
    const list = spec[field];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) {
      throw new AdmissionError(
        'NO_POD_SPEC',
        `${kind} ${pointer.slice(1).replace(/\//g, '.')}.${field} is not a list`,
      );
    }
    list.forEach((c: unknown, i) => {
      const where = `${pointer.slice(1).replace(/\//g, '.')}.${field}[${i}]`;
      if (!isRecord(c)) throw new AdmissionError('NO_POD_SPEC', `${kind} ${where} is not an object`);
      if (typeof c.image !== 'string' || c.image.length === 0) {
        // Ephemeral containers and templates must name an image too; the API server rejects them otherwise.
        throw new AdmissionError('NO_POD_SPEC', `${kind} ${where}.image is missing or not a string`);
      }
      out.push({
        image: c.image,
        container: typeof c.name === 'string' ? c.name : `#${i}`,
        field,
        pointer: `${pointer}/${field}/${i}/image`,
      });
    });
  }
  // Image volumes mount an OCI image's content into the pod: unchecked, they would be a bypass.
  const volumes = spec.volumes;
  if (Array.isArray(volumes)) {
    volumes.forEach((v: unknown, i) => {
      if (!isRecord(v) || !isRecord(v.image)) return;
      const where = `${pointer.slice(1).replace(/\//g, '.')}.volumes[${i}].image.reference`;
      if (typeof v.image.reference !== 'string' || v.image.reference.length === 0) {
        throw new AdmissionError('NO_POD_SPEC', `${kind} ${where} is missing or not a string`);
      }
      out.push({
        image: v.image.reference,
        container: `volume ${typeof v.name === 'string' ? v.name : `#${i}`}`,
        field: 'volumes',
        pointer: `${pointer}/volumes/${i}/image/reference`,
      });
    });
  }
  return out;
}

/** The object's name for logs and audit: metadata.name, else generateName, else "". */
export function objectName(object: unknown, fallback: string | undefined): string {
  if (isRecord(object) && isRecord(object.metadata)) {
    const m = object.metadata;
    if (typeof m.name === 'string' && m.name !== '') return m.name;
    if (typeof m.generateName === 'string') return m.generateName;
  }
  return fallback ?? '';
}

/** Whose registry credentials a pod pulls with: its imagePullSecrets and its service account. */
export function pullIdentityOf(podSpec: Record<string, unknown>): {
  pullSecrets: string[];
  serviceAccount?: string;
} {
  const list = podSpec.imagePullSecrets;
  const pullSecrets = Array.isArray(list)
    ? list
        .map((s: unknown) =>
          typeof s === 'object' && s !== null ? (s as { name?: unknown }).name : undefined,
        )
        .filter((n): n is string => typeof n === 'string' && n.length > 0)
    : [];
  const sa = podSpec.serviceAccountName;
  return { pullSecrets, ...(typeof sa === 'string' && sa !== '' ? { serviceAccount: sa } : {}) };
}
