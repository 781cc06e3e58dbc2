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
import { stringify } from 'yaml';
import { valuesJsonSchema } from './chart-values.schema.js';
import { API_GROUP, API_VERSION, ImagePolicySpec, POLICY_KIND } from '../src/policy/policy.schema.js';

const CHART_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'charts/imagegate');
export const CRD_PATH = join(CHART_DIR, 'crds/imagepolicy.yaml');
export const VALUES_SCHEMA_PATH = join(CHART_DIR, 'values.schema.json');

type Schema = Record<string, unknown>;

/** Keywords a structural openAPIV3Schema node may carry (apiextensions.k8s.io/v1 JSONSchemaProps). */
const KEPT = new Set([
  'type',
  'description',
  'format',
  'pattern',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minItems',
  'maxItems',
  'uniqueItems',
  'minProperties',
  'maxProperties',
  'enum',
  'default',
  'nullable',
  'required',
  'x-kubernetes-validations',
]);

function isSchema(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A union of string literals (TypeBox `Type.Union([Type.Literal('a'), …])`) → its values, else undefined. */
function literalStrings(node: Schema): string[] | undefined {
  const branches = node.anyOf;
  if (!Array.isArray(branches) || branches.length === 0) return undefined;
  const values: string[] = [];
  for (const branch of branches) {
    if (!isSchema(branch) || typeof branch.const !== 'string') return undefined;
    values.push(branch.const);
  }
  return values;
}

/**
 * Converts a TypeBox (JSON Schema) node into a Kubernetes structural schema node:
 * - TypeBox symbols and `$id` disappear (only string keys are copied, and only known keywords);
 * - `additionalProperties: false` is dropped: Kubernetes forbids it next to `properties` and prunes
 *   unknown fields instead (the server still rejects them when it compiles the policy);
 * - string-literal unions become `type: string` + `enum`, a lone `const` becomes a one-value enum;
 * - records (`patternProperties`) become `additionalProperties: {schema}`;
 * - int-or-string nodes become `x-kubernetes-int-or-string: true` with the bare anyOf of types the
 *   apiserver accepts there, and the members' value checks beside it (as Kubernetes' own quantity
 *   schema does): `pattern` only constrains strings, `minimum`/`maximum` only numbers. So the API server
 *   refuses `maxCompressed: 100MB` naming the field, instead of storing a policy imagegate then rejects.
 */
export function toStructuralSchema(node: Schema, path = '$'): Schema {
  if (node['x-kubernetes-int-or-string'] === true) {
    const out: Schema = {
      'x-kubernetes-int-or-string': true,
      anyOf: [{ type: 'integer' }, { type: 'string' }],
    };
    for (const member of Array.isArray(node.anyOf) ? (node.anyOf as Schema[]) : []) {
      for (const key of member.type === 'string' ? ['pattern'] : ['minimum', 'maximum'])
        if (member[key] !== undefined) out[key] = member[key];
    }
    if (typeof node.description === 'string') out.description = node.description;
    return out;
  }
  const literals = literalStrings(node);
  if (literals !== undefined) {
    const out: Schema = { type: 'string', enum: literals };
    if (typeof node.description === 'string') out.description = node.description;
    return out;
  }
  if (typeof node.const === 'string') return { type: 'string', enum: [node.const] };
  if (
    node.anyOf !== undefined ||
    node.oneOf !== undefined ||
    node.allOf !== undefined ||
    node.not !== undefined
  ) {
    throw new Error(`${path}: unions other than string literals and int-or-string are not structural`);
  }
  if (typeof node.type !== 'string')
    throw new Error(`${path}: every node of a structural schema needs a type`);

  const out: Schema = { type: node.type };
  for (const key of Object.keys(node)) {
    if (KEPT.has(key) && key !== 'type') out[key] = Array.isArray(node[key]) ? [...node[key]] : node[key];
  }
  if (isSchema(node.properties)) {
    const properties: Schema = {};
    for (const [name, child] of Object.entries(node.properties)) {
      if (!isSchema(child)) throw new Error(`${path}.${name}: not a schema`);
      properties[name] = toStructuralSchema(child, `${path}.${name}`);
    }
    out.properties = properties;
  }
  if (isSchema(node.patternProperties)) {
    const values = Object.values(node.patternProperties);
    if (values.length !== 1 || !isSchema(values[0])) throw new Error(`${path}: only single-pattern records`);
    out.additionalProperties = toStructuralSchema(values[0], `${path}.*`);
  } else if (isSchema(node.additionalProperties)) {
    out.additionalProperties = toStructuralSchema(node.additionalProperties, `${path}.*`);
  }
  if (isSchema(node.items)) out.items = toStructuralSchema(node.items, `${path}[]`);
  return out;
}

/** metav1.Condition, as used by every Kubernetes API that reports conditions. */
const CONDITION: Schema = {
  type: 'object',
  required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'],
  properties: {
    type: { type: 'string', maxLength: 316, description: 'Accepted or Ready.' },
    status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
    observedGeneration: { type: 'integer', format: 'int64', minimum: 0 },
    lastTransitionTime: { type: 'string', format: 'date-time' },
    reason: { type: 'string', maxLength: 1024, pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$' },
    message: { type: 'string', maxLength: 32768 },
  },
};

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
            openAPIV3Schema: {
              type: 'object',
              description: 'ImagePolicy: which images may run, checked by the imagegate admission webhook.',
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: toStructuralSchema(ImagePolicySpec as unknown as Schema, 'spec'),
                status: {
                  type: 'object',
                  description: 'Written by imagegate: whether the policy compiled and is enforced.',
                  properties: {
                    observedGeneration: { type: 'integer', format: 'int64', minimum: 0 },
                    conditions: {
                      type: 'array',
                      maxItems: 8,
                      'x-kubernetes-list-type': 'map',
                      'x-kubernetes-list-map-keys': ['type'],
                      items: CONDITION,
                    },
                  },
                },
              },
            },
          },
        },
      ],
    },
  };
}

export function renderCrd(): string {
  const header =
    '# GENERATED by scripts/generate-crd.ts from src/policy/policy.schema.ts. Do not edit: run `npm run crd`.\n';
  return header + stringify(imagePolicyCrd(), { lineWidth: 0, aliasDuplicateObjects: false });
}

export function renderValuesSchema(): string {
  return JSON.stringify(valuesJsonSchema(), null, 2) + '\n';
}

function main(argv: string[]): number {
  const outputs: [string, string][] = [
    [CRD_PATH, renderCrd()],
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
