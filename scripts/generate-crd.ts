/**
 * Renders the chart files derived from the TypeBox schemas (npm run crd):
 * - charts/imagegate/crds/imagepolicy.yaml: the ImagePolicy CRD from src/policy/policy.schema.ts;
 * - charts/imagegate/values.schema.json: from scripts/chart-values.schema.ts (which embeds ImagePolicySpec).
 *
 *   npx tsx scripts/generate-crd.ts          # write both files
 *   npx tsx scripts/generate-crd.ts --check  # exit 1 when a committed file is stale
 *
 * The CRD lives in the chart's crds/ directory (not templates/) because the chart also renders
 * ImagePolicy resources from values: Helm can only map those on a first install when the CRD is
 * installed before the templates, which is what crds/ does. The price is that `helm upgrade` never
 * changes a CRD; operators apply charts/imagegate/crds/ (or manifests/) first (docs/operations.md).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { valuesJsonSchema } from './chart-values.schema.js';
import { API_GROUP, API_VERSION, ImagePolicySpec, POLICY_KIND } from '../src/policy/policy.schema.js';
import { crdObjectSchema, renderGenerated, type Schema } from './structural-schema.js';
import { EXCEPTION_CRD_PATH, renderExceptionCrd } from './exception-crd.js';
import { renderTenantCrd, TENANT_CRD_PATH } from './tenant-crd.js';

export { toStructuralSchema } from './structural-schema.js';

const CHART_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'charts/imagegate');
export const CRD_PATH = join(CHART_DIR, 'crds/imagepolicy.yaml');
export const VALUES_SCHEMA_PATH = join(CHART_DIR, 'values.schema.json');

export function imagePolicyCrd(): Schema {
  const plural = 'imagepolicies';
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${plural}.${API_GROUP}`,
      labels: { 'app.kubernetes.io/name': 'imagegate', 'app.kubernetes.io/component': 'crd' },
    },
    spec: {
      group: API_GROUP,
      scope: 'Cluster',
      names: {
        kind: POLICY_KIND,
        listKind: `${POLICY_KIND}List`,
        plural,
        singular: 'imagepolicy',
        shortNames: ['imgpol'],
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
            { name: 'On-Error', type: 'string', jsonPath: '.spec.onError', priority: 1 },
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
              description: 'ImagePolicy: which images may run, checked by the imagegate admission webhook.',
              spec: ImagePolicySpec as unknown as Schema,
              statusDescription: 'Written by imagegate: whether the policy compiled and is enforced.',
            }),
          },
        },
      ],
    },
  };
}

export function renderCrd(): string {
  return renderGenerated(imagePolicyCrd(), 'src/policy/policy.schema.ts');
}

export function renderValuesSchema(): string {
  return JSON.stringify(valuesJsonSchema(), null, 2) + '\n';
}

function main(argv: string[]): number {
  const outputs: [string, string][] = [
    [CRD_PATH, renderCrd()],
    [EXCEPTION_CRD_PATH, renderExceptionCrd()],
    [TENANT_CRD_PATH, renderTenantCrd()],
    [VALUES_SCHEMA_PATH, renderValuesSchema()],
  ];
  let status = 0;
  for (const [path, rendered] of outputs) {
    if (argv.includes('--check')) {
      if (readFileSync(path, 'utf8') !== rendered) {
        process.stderr.write(`${path} is stale: run npm run crd\n`);
        status = 1;
      }
    } else {
      writeFileSync(path, rendered);
      process.stdout.write(`wrote ${path}\n`);
    }
  }
  return status;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = main(process.argv.slice(2));
}
