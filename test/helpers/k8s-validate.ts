/**
 * Offline validation of rendered objects against the Kubernetes API schemas shipped in
 * kubernetes-models (Kubernetes 1.3x OpenAPI): type, required field, enum and format checks.
 * Limits: kubernetes-models does not reject unknown fields, and it has no schemas for custom
 * resources (cert-manager Issuer/Certificate, Prometheus ServiceMonitor); ImagePolicy objects are
 * checked against our own TypeBox schema instead.
 */
import { TypeRegistry } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import {
  ValidatingWebhookConfiguration,
  MutatingWebhookConfiguration,
} from 'kubernetes-models/admissionregistration.k8s.io/v1';
import { CustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { PriorityClass } from 'kubernetes-models/scheduling.k8s.io/v1';
import {
  ClusterRole,
  ClusterRoleBinding,
  Role,
  RoleBinding,
} from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { ConfigMap, Namespace, Pod, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { ImagePolicyDocument } from '../../src/policy/policy.schema.js';
import type { K8sObject } from './k8s.js';

type Validator = (o: K8sObject) => void;

// The schema's Quantity is a Type.Unsafe int-or-string node that TypeBox's Value checker does not know;
// check it as the apiserver and the policy loader do: a non-negative integer or a quantity string.
if (!TypeRegistry.Has('Unsafe')) {
  TypeRegistry.Set('Unsafe', (schema: K8sObject, value) => {
    if (schema['x-kubernetes-int-or-string'] !== true) return false;
    if (typeof value === 'number') return Number.isInteger(value) && value >= 0;
    const pattern = (schema.anyOf as K8sObject[]).find((s) => s.type === 'string')?.pattern as string;
    return typeof value === 'string' && new RegExp(pattern).test(value);
  });
}
const model =
  (Ctor: new (data: never) => { validate(): void }): Validator =>
  (o) =>
    new Ctor(o as never).validate();

const VALIDATORS: Record<string, Validator> = {
  'v1/ConfigMap': model(ConfigMap),
  'v1/Namespace': model(Namespace),
  'v1/Pod': model(Pod),
  'v1/Secret': model(Secret),
  'v1/Service': model(Service),
  'v1/ServiceAccount': model(ServiceAccount),
  'apps/v1/Deployment': model(Deployment),
  'policy/v1/PodDisruptionBudget': model(PodDisruptionBudget),
  'scheduling.k8s.io/v1/PriorityClass': model(PriorityClass),
  'networking.k8s.io/v1/NetworkPolicy': model(NetworkPolicy),
  'rbac.authorization.k8s.io/v1/ClusterRole': model(ClusterRole),
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': model(ClusterRoleBinding),
  'rbac.authorization.k8s.io/v1/Role': model(Role),
  'rbac.authorization.k8s.io/v1/RoleBinding': model(RoleBinding),
  'admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration': model(ValidatingWebhookConfiguration),
  'admissionregistration.k8s.io/v1/MutatingWebhookConfiguration': model(MutatingWebhookConfiguration),
  'apiextensions.k8s.io/v1/CustomResourceDefinition': model(CustomResourceDefinition),
  'imagegate.dev/v1alpha1/ImagePolicy': (o) => {
    const errors = [...Value.Errors(ImagePolicyDocument, o)];
    if (errors.length > 0) throw new Error(errors.map((e) => `${e.path}: ${e.message}`).join('; '));
  },
};

/** Kinds with no schema available offline: rendered, but only checked by the tests' own assertions. */
export const UNVALIDATED_KINDS = new Set([
  'cert-manager.io/v1/Issuer',
  'cert-manager.io/v1/Certificate',
  'monitoring.coreos.com/v1/ServiceMonitor',
]);

export function kindKey(o: K8sObject): string {
  return `${String(o.apiVersion)}/${String(o.kind)}`;
}

/** Returns `kind/name: error` for every invalid object and every object of an unknown kind. */
export function validateObjects(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const o of objects) {
    const key = kindKey(o);
    const validate = VALIDATORS[key];
    if (validate === undefined) {
      if (!UNVALIDATED_KINDS.has(key))
        problems.push(`${key}/${o.metadata?.name}: no validator for this kind`);
      continue;
    }
    try {
      validate(o);
    } catch (err) {
      problems.push(`${key}/${o.metadata?.name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return problems;
}
