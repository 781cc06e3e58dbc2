/**
 * Validates objects against a CRD version's OpenAPI v3 schema (test/fixtures/k8s/crd/*.schema.json,
 * extracted from the CRD's public repository) as the API server would: types, enums and required
 * fields, and unknown fields reported (the API server would silently prune them, losing data).
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import type { K8sObject } from './k8s.js';

const DIR = new URL('../fixtures/k8s/crd/', import.meta.url);

function structural(schema: K8sObject): K8sObject {
  if (Array.isArray(schema)) return schema.map(structural);
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: K8sObject = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === 'x-kubernetes-preserve-unknown-fields' || k === 'x-kubernetes-int-or-string') continue;
    out[k] =
      k === 'properties'
        ? Object.fromEntries(Object.entries(v as K8sObject).map(([p, s]) => [p, structural(s as K8sObject)]))
        : structural(v as K8sObject);
  }
  if (schema['x-kubernetes-int-or-string'] === true)
    return { anyOf: [{ type: 'integer' }, { type: 'string' }] };
  if (
    out.properties !== undefined &&
    out.additionalProperties === undefined &&
    schema['x-kubernetes-preserve-unknown-fields'] !== true
  )
    out.additionalProperties = false;
  return out;
}

export function crdValidator(file: string): (obj: unknown) => string[] {
  const doc = JSON.parse(readFileSync(new URL(file, DIR), 'utf8')) as K8sObject;
  const ajv = new Ajv({ allErrors: true, strict: false });
  for (const f of ['int32', 'int64', 'date-time', 'byte']) ajv.addFormat(f, true);
  const validate = ajv.compile(structural(doc.openAPIV3Schema as K8sObject));
  return (obj) =>
    validate(obj)
      ? []
      : (validate.errors ?? []).map(
          (e: ErrorObject) =>
            `${e.instancePath || '/'} ${e.message ?? ''}${e.keyword === 'additionalProperties' ? `: ${String((e.params as { additionalProperty?: string }).additionalProperty)}` : ''}`,
        );
}
