/**
 * The NamespacedImagePolicy CRD (charts/imagegate/crds/namespacedimagepolicy.yaml), rendered from
 * src/policy/policy.schema.ts (ImagePolicy's spec minus `namespaces`) by `npm run crd`
 * (scripts/generate-crd.ts writes it and checks drift). Namespaced: a tenant's policy applies in its
 * own namespace only; the fields that would loosen a decision are refused by imagegate at load.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  API_GROUP,
  API_VERSION,
  NamespacedImagePolicySpec,
  TENANT_POLICY_KIND,
} from '../src/policy/policy.schema.js';
import { crdObjectSchema, renderGenerated, type Schema } from './structural-schema.js';

export const TENANT_CRD_PATH = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  'charts/imagegate/crds/namespacedimagepolicy.yaml',
);

export function namespacedImagePolicyCrd(): Schema {
  const plural = 'namespacedimagepolicies';
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${plural}.${API_GROUP}`,
      labels: { 'app.kubernetes.io/name': 'imagegate', 'app.kubernetes.io/component': 'crd' },
    },
    spec: {
      group: API_GROUP,
      scope: 'Namespaced',
      names: {
        kind: TENANT_POLICY_KIND,
        listKind: `${TENANT_POLICY_KIND}List`,
        plural,
        singular: 'namespacedimagepolicy',
        shortNames: ['nsimgpol'],
        categories: ['imagegate'],
      },
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Mode', type: 'string', jsonPath: '.spec.mode', description: 'enforce or audit' },
            {
              name: 'Accepted',
              type: 'string',
              jsonPath: '.status.conditions[?(@.type=="Accepted")].status',
            },
            {
              name: 'Reason',
              type: 'string',
              jsonPath: '.status.conditions[?(@.type=="Accepted")].reason',
              priority: 1,
            },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: {
            openAPIV3Schema: crdObjectSchema({
              description:
                "NamespacedImagePolicy: a namespace's own image requirements, in addition to the cluster's ImagePolicies; it can only make decisions stricter.",
              spec: NamespacedImagePolicySpec as unknown as Schema,
              statusDescription: 'Written by imagegate: whether the policy compiled and is enforced.',
            }),
          },
        },
      ],
    },
  };
}

export function renderTenantCrd(): string {
  return renderGenerated(namespacedImagePolicyCrd(), 'src/policy/policy.schema.ts');
}
