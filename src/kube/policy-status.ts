/**
 * ImagePolicy `status.conditions`: what the compile verdict means as conditions (Accepted, Ready),
 * and the writer that patches the status subresource only when the conditions change. A 403 (RBAC
 * without imagepolicies/status patch) is logged once and tolerated.
 */
import {
  PatchStrategy,
  setHeaderOptions,
  type CustomObjectsApi,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { errorMessage } from '../errors.js';
import { API_GROUP, API_VERSION } from '../policy/policy.schema.js';
import { statusCode } from './status-code.js';

export const POLICY_PLURAL = 'imagepolicies';
export const POLICY_PATH = `/apis/${API_GROUP}/${API_VERSION}/${POLICY_PLURAL}`;

/** A resource imagegate watches and writes status conditions on. */
export interface WatchedResource {
  kind: string;
  plural: string;
  namespaced: boolean;
}

export const IMAGE_POLICIES: WatchedResource = {
  kind: 'ImagePolicy',
  plural: POLICY_PLURAL,
  namespaced: false,
};
export const NAMESPACED_IMAGE_POLICIES: WatchedResource = {
  kind: 'NamespacedImagePolicy',
  plural: 'namespacedimagepolicies',
  namespaced: true,
};
export const IMAGE_POLICY_EXCEPTIONS: WatchedResource = {
  kind: 'ImagePolicyException',
  plural: 'imagepolicyexceptions',
  namespaced: true,
};

/** How verdicts name a resource: `name`, or `namespace/name` for a namespaced one. */
export function resourceId(resource: WatchedResource, obj: KubernetesObject): string {
  const name = obj.metadata?.name ?? '';
  return resource.namespaced ? `${obj.metadata?.namespace ?? ''}/${name}` : name;
}

const PHASES = ['Active', 'Expired', 'Invalid'] as const;

/** Conditions for a phase (an exception's): one condition per phase, only its own True. */
export function toPhaseConditions(
  obj: PolicyObject,
  state: { phase: string; message: string },
  now: Date,
): Condition[] {
  const generation = obj.metadata?.generation;
  const previous = obj.status?.conditions ?? [];
  return PHASES.map((type) => {
    const status = type === state.phase ? 'True' : 'False';
    const old = previous.find((c) => c.type === type);
    return {
      type,
      status,
      ...(generation === undefined ? {} : { observedGeneration: generation }),
      lastTransitionTime: old?.status === status ? old.lastTransitionTime : now.toISOString(),
      reason: status === 'True' ? type : `Not${type}`,
      message: status === 'True' ? state.message.slice(0, 32_000) : '',
    };
  });
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export type PolicyObject = KubernetesObject & {
  metadata?: KubernetesObject['metadata'] & { generation?: number };
  status?: { conditions?: Condition[]; observedGeneration?: number };
};

export interface StatusLog {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** The conditions to write for a verdict, keeping lastTransitionTime when the status did not flip. */
export function toConditions(
  obj: PolicyObject,
  verdict: { accepted: true; degraded?: string } | { accepted: false; error: string },
  now: Date,
): Condition[] {
  const generation = obj.metadata?.generation;
  const previous = obj.status?.conditions ?? [];
  const make = (type: string, reason: string, message: string, ok = verdict.accepted): Condition => {
    const status = ok ? 'True' : 'False';
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
  if (verdict.accepted && verdict.degraded !== undefined) {
    // in force, but a check that needs the missing key fails as indeterminate until it exists
    return [
      make('Accepted', 'Compiled', 'policy compiled'),
      make('Ready', 'KeyUnavailable', verdict.degraded.slice(0, 32_000), false),
    ];
  }
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

export type StatusWriter = (obj: PolicyObject, conditions: Condition[]) => Promise<void>;

export function createStatusWriter(
  api: CustomObjectsApi,
  log: StatusLog,
  resource: WatchedResource = IMAGE_POLICIES,
): StatusWriter {
  let forbiddenLogged = false;
  // What this process last wrote per policy: the informer's copy lags behind our own patch, and a
  // delivery in between must not write the same conditions again.
  const written = new Map<string, Condition[]>();
  return async (obj, conditions) => {
    const name = obj.metadata?.name;
    if (name === undefined || sameConditions(obj.status?.conditions, conditions)) return;
    const generation = obj.metadata?.generation;
    const id = resourceId(resource, obj);
    if (sameConditions(written.get(id), conditions)) return;
    written.set(id, conditions);
    const body = {
      status: { ...(generation === undefined ? {} : { observedGeneration: generation }), conditions },
    };
    try {
      const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
      const target = { group: API_GROUP, version: API_VERSION, plural: resource.plural, name, body };
      if (resource.namespaced)
        await api.patchNamespacedCustomObjectStatus(
          { ...target, namespace: obj.metadata?.namespace ?? '' },
          merge,
        );
      else await api.patchClusterCustomObjectStatus(target, merge);
    } catch (err) {
      written.delete(id);
      const code = statusCode(err);
      if (code === 403) {
        if (!forbiddenLogged)
          log.warn({ policy: id }, `RBAC forbids patching ${resource.plural}/status; not writing conditions`);
        forbiddenLogged = true;
      } else if (code === 404 || code === 409) {
        log.debug({ policy: id, code }, 'policy changed while writing its status; the next event retries');
      } else {
        log.warn({ policy: id, err: errorMessage(err) }, `cannot write ${resource.kind} status`);
      }
    }
  };
}
