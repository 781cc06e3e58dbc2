/**
 * The ImagePolicyException CRD (charts/imagegate/crds/imagepolicyexception.yaml), rendered from
 * src/policy/exception.schema.ts by `npm run crd` (scripts/generate-crd.ts writes it and checks drift).
 * Namespaced: an exception applies only in its own namespace, and who may create one there is the
 * cluster's RBAC (docs/exceptions.md).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXCEPTION_KIND, ImagePolicyExceptionSpec } from '../src/policy/exception.schema.js';
import { API_GROUP, API_VERSION } from '../src/policy/policy.schema.js';
import { CONDITION, crdObjectSchema, renderGenerated, type Schema } from './structural-schema.js';

export const EXCEPTION_CRD_PATH = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  'charts/imagegate/crds/imagepolicyexception.yaml',
);

const condition = (type: string, column: string, priority?: number): Schema => ({
  name: column,
  type: 'string',
  jsonPath: `.status.conditions[?(@.type=="${type}")].status`,
  ...(priority !== undefined ? { priority } : {}),
});

export function imagePolicyExceptionCrd(): Schema {
  const plural = 'imagepolicyexceptions';
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
        kind: EXCEPTION_KIND,
        listKind: `${EXCEPTION_KIND}List`,
        plural,
        singular: 'imagepolicyexception',
        shortNames: ['imgexc'],
        categories: ['imagegate'],
      },
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Expires', type: 'string', jsonPath: '.spec.expires' },
            condition('Active', 'Active'),
            condition('Expired', 'Expired', 1),
            condition('Invalid', 'Invalid', 1),
            { name: 'Reason', type: 'string', jsonPath: '.spec.reason', priority: 1 },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: {
            openAPIV3Schema: crdObjectSchema({
              description:
                'ImagePolicyException: lets named policies’ failures through for some images in this namespace, for a reason, until it expires. An exempted finding is allowed with a warning, never a pass.',
              spec: ImagePolicyExceptionSpec as unknown as Schema,
              statusDescription: 'Written by imagegate: Active, Expired or Invalid (with why).',
              condition: {
                ...CONDITION,
                properties: {
                  ...(CONDITION.properties as Schema),
                  type: {
                    type: 'string',
                    maxLength: 316,
                    description: 'Active, Expired or Invalid.',
                  },
                },
              },
            }),
          },
        },
      ],
    },
  };
}

export function renderExceptionCrd(): string {
  return renderGenerated(imagePolicyExceptionCrd(), 'src/policy/exception.schema.ts');
}
