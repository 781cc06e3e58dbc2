/**
 * JSON Schema (TypeBox) → Kubernetes structural schema, and metav1.Condition: shared by the CRDs
 * scripts/generate-crd.ts renders (ImagePolicy, ImagePolicyException).
 */
import { stringify } from 'yaml';

export type Schema = Record<string, unknown>;

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

export function isSchema(value: unknown): value is Schema {
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
export const CONDITION: Schema = {
  type: 'object',
  required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'],
  properties: {
    type: {
      type: 'string',
      maxLength: 316,
      description: 'Accepted or Ready.',
    },
    status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
    observedGeneration: { type: 'integer', format: 'int64', minimum: 0 },
    lastTransitionTime: { type: 'string', format: 'date-time' },
    reason: { type: 'string', maxLength: 1024, pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$' },
    message: { type: 'string', maxLength: 32768 },
  },
};

/**
 * A CRD version's openAPIV3Schema: apiVersion, kind, metadata, the structural `spec` and a status of
 * conditions (`condition`: each item's schema) that imagegate writes.
 */
export function crdObjectSchema(o: {
  description: string;
  spec: Schema;
  statusDescription: string;
  condition?: Schema;
}): Schema {
  return {
    type: 'object',
    description: o.description,
    required: ['spec'],
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { type: 'object' },
      spec: toStructuralSchema(o.spec, 'spec'),
      status: {
        type: 'object',
        description: o.statusDescription,
        properties: {
          observedGeneration: { type: 'integer', format: 'int64', minimum: 0 },
          conditions: {
            type: 'array',
            maxItems: 8,
            'x-kubernetes-list-type': 'map',
            'x-kubernetes-list-map-keys': ['type'],
            items: o.condition ?? CONDITION,
          },
        },
      },
    },
  };
}

/** A generated CRD file: the do-not-edit header naming its schema source, then the YAML. */
export function renderGenerated(crd: Schema, source: string): string {
  const header = `# GENERATED by scripts/generate-crd.ts from ${source}. Do not edit: run \`npm run crd\`.\n`;
  return header + stringify(crd, { lineWidth: 0, aliasDuplicateObjects: false });
}
