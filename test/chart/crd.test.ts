import { readFileSync } from 'node:fs';
import { CustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CRD_PATH, imagePolicyCrd, renderCrd, toStructuralSchema } from '../../scripts/generate-crd.js';
import { EXCEPTION_CRD_PATH, renderExceptionCrd } from '../../scripts/exception-crd.js';
import { renderTenantCrd, TENANT_CRD_PATH } from '../../scripts/tenant-crd.js';
import type { K8sObject } from '../helpers/k8s.js';
import { QUANTITY_PATTERN } from '../../src/checks/quantity.js';
import { API_GROUP, API_VERSION, POLICY_KIND } from '../../src/policy/policy.schema.js';

type Schema = Record<string, unknown>;

/** Collects violations of the Kubernetes structural-schema rules that the apiserver enforces. */
function structuralViolations(node: Schema, path = '$'): string[] {
  const out: string[] = [];
  const intOrString = node['x-kubernetes-int-or-string'] === true;
  if (
    typeof node.type !== 'string' &&
    !intOrString &&
    node['x-kubernetes-preserve-unknown-fields'] !== true
  ) {
    out.push(`${path}: no type`);
  }
  for (const banned of ['const', 'patternProperties', '$id', 'anyOf', 'oneOf', 'allOf', 'not', '$ref']) {
    // The one anyOf the apiserver accepts: int-or-string's bare [integer, string].
    const bareIntOrString =
      banned === 'anyOf' &&
      intOrString &&
      JSON.stringify(node.anyOf) === JSON.stringify([{ type: 'integer' }, { type: 'string' }]);
    if (banned in node && !bareIntOrString) out.push(`${path}: ${banned}`);
  }
  if ('properties' in node && 'additionalProperties' in node)
    out.push(`${path}: properties + additionalProperties`);
  if (node.additionalProperties === false) out.push(`${path}: additionalProperties false`);
  if (Object.getOwnPropertySymbols(node).length > 0) out.push(`${path}: symbol keys`);
  const props = node.properties as Record<string, Schema> | undefined;
  for (const [k, v] of Object.entries(props ?? {})) out.push(...structuralViolations(v, `${path}.${k}`));
  if (typeof node.additionalProperties === 'object') {
    out.push(...structuralViolations(node.additionalProperties as Schema, `${path}.*`));
  }
  if (typeof node.items === 'object') out.push(...structuralViolations(node.items as Schema, `${path}[]`));
  return out;
}

/** What the apiserver keeps of a value under a structural schema (pruning of unknown fields). */
function prune(value: unknown, schema: Schema): unknown {
  if (Array.isArray(value)) return value.map((v) => prune(v, (schema.items ?? {}) as Schema));
  if (typeof value !== 'object' || value === null) return value;
  const props = schema.properties as Record<string, Schema> | undefined;
  const extra = schema.additionalProperties as Schema | undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const child = props?.[k] ?? extra;
    if (child !== undefined) out[k] = prune(v, child);
  }
  return out;
}

const crd = imagePolicyCrd() as {
  spec: { versions: { schema: { openAPIV3Schema: Schema } }[] };
};
const rootSchema = crd.spec.versions[0]!.schema.openAPIV3Schema;

describe('ImagePolicy CRD', () => {
  it('is committed exactly as scripts/generate-crd.ts renders it (run npm run crd)', () => {
    expect(readFileSync(CRD_PATH, 'utf8')).toBe(renderCrd());
  });

  it('names the group, version and kind of the schema module', () => {
    const doc = parse(readFileSync(CRD_PATH, 'utf8')) as K8sObject;
    expect(doc.metadata.name).toBe(`imagepolicies.${API_GROUP}`);
    expect(doc.spec.scope).toBe('Cluster');
    expect(doc.spec.names.kind).toBe(POLICY_KIND);
    expect(doc.spec.versions).toHaveLength(1);
    expect(doc.spec.versions[0]).toMatchObject({ name: API_VERSION, served: true, storage: true });
    expect(doc.spec.versions[0].subresources).toEqual({ status: {} });
  });

  it('validates against the apiextensions.k8s.io/v1 API schema', () => {
    expect(() =>
      new CustomResourceDefinition(parse(readFileSync(CRD_PATH, 'utf8'))).validate(),
    ).not.toThrow();
  });

  it('is a structural schema the apiserver accepts', () => {
    expect(structuralViolations(rootSchema)).toEqual([]);
  });

  it('turns literal unions into enums and int-or-string into the marker with its value checks', () => {
    const spec = rootSchema.properties as K8sObject;
    const s = spec.spec.properties;
    expect(s.mode).toEqual({ type: 'string', enum: ['enforce', 'audit'] });
    expect(s.signature.properties.transparencyLog).toEqual({
      type: 'string',
      enum: ['required', 'optional'],
    });
    expect(s.size.properties.maxCompressed).toEqual({
      'x-kubernetes-int-or-string': true,
      anyOf: [{ type: 'integer' }, { type: 'string' }],
      minimum: 0,
      pattern: QUANTITY_PATTERN,
      description: 'Kubernetes quantity, e.g. 300Mi.',
    });
    expect(s.namespaces.properties.matchLabels).toEqual({
      type: 'object',
      additionalProperties: { type: 'string' },
    });
  });

  it('prunes nothing from a policy that uses every field', () => {
    const full = {
      apiVersion: `${API_GROUP}/${API_VERSION}`,
      kind: POLICY_KIND,
      metadata: { name: 'everything' },
      spec: {
        mode: 'enforce',
        images: [{ glob: 'cgr.dev/chainguard/**' }],
        exclude: [{ glob: 'cgr.dev/chainguard/sandbox/**' }],
        namespaces: {
          include: ['prod-*'],
          exclude: ['kube-system'],
          matchLabels: { team: 'a' },
          matchExpressions: [{ key: 'env', operator: 'In', values: ['prod'] }],
        },
        requireDigest: true,
        onError: 'deny',
        platforms: ['linux/amd64'],
        signature: {
          authorities: [
            {
              name: 'k',
              key: {
                pem: 'PEM',
                secretRef: { namespace: 'n', name: 's', key: 'k' },
                hashAlgorithm: 'sha256',
              },
            },
            {
              keyless: {
                issuer: 'i',
                issuerRegExp: 'i',
                subject: 's',
                subjectRegExp: 's',
                trustedRoot: 'public-good',
              },
            },
          ],
          transparencyLog: 'required',
          threshold: 1,
        },
        size: { maxCompressed: '300Mi', maxLayers: 40 },
        base: {
          allowed: [
            {
              image: 'cgr.dev/chainguard/*',
              candidates: ['cgr.dev/chainguard/node:latest'],
              signature: { authorities: [{ keyless: { issuer: 'i', subject: 's' } }] },
            },
          ],
          proof: 'signed',
          maxAge: '30d',
        },
      },
      status: {
        observedGeneration: 1,
        conditions: [
          {
            type: 'Accepted',
            status: 'True',
            lastTransitionTime: '2025-01-01T00:00:00Z',
            reason: 'Compiled',
            message: '',
          },
        ],
      },
    };
    expect(prune(full, rootSchema)).toEqual({ ...full, metadata: {} });
  });

  describe('toStructuralSchema', () => {
    it('refuses unions it cannot express structurally', () => {
      expect(() => toStructuralSchema({ anyOf: [{ type: 'string' }, { type: 'integer' }] }, 'x')).toThrow(
        /not structural/,
      );
    });
    it('refuses nodes without a type', () => {
      expect(() => toStructuralSchema({ description: 'x' }, 'x')).toThrow(/needs a type/);
    });
  });
});

describe('ImagePolicyException CRD', () => {
  const doc = parse(readFileSync(EXCEPTION_CRD_PATH, 'utf8')) as K8sObject;

  it('is committed exactly as rendered, namespaced, with a status subresource', () => {
    expect(readFileSync(EXCEPTION_CRD_PATH, 'utf8')).toBe(renderExceptionCrd());
    expect(doc.spec.scope).toBe('Namespaced');
    expect(doc.spec.names.kind).toBe('ImagePolicyException');
    expect(doc.spec.versions[0].subresources).toEqual({ status: {} });
  });

  it('validates as a CRD and is structural', () => {
    expect(() =>
      new CustomResourceDefinition(parse(readFileSync(EXCEPTION_CRD_PATH, 'utf8'))).validate(),
    ).not.toThrow();
    expect(structuralViolations(doc.spec.versions[0].schema.openAPIV3Schema as Schema)).toEqual([]);
  });

  it('makes the API server refuse an exception without policies, images, reason or expiry', () => {
    const spec = doc.spec.versions[0].schema.openAPIV3Schema.properties.spec as K8sObject;
    expect([...(spec.required as string[])].sort()).toEqual(['expires', 'images', 'policies', 'reason']);
    expect(spec.properties.checks.items).toEqual({
      type: 'string',
      enum: ['signature', 'size', 'base', 'attestations', 'digest'],
    });
  });
});

describe('NamespacedImagePolicy CRD', () => {
  const text = readFileSync(TENANT_CRD_PATH, 'utf8');
  const doc = parse(text) as K8sObject;

  it('is committed exactly as rendered, namespaced, ImagePolicy’s spec without namespaces', () => {
    expect(text).toBe(renderTenantCrd());
    expect(doc.spec.scope).toBe('Namespaced');
    expect(doc.spec.names.kind).toBe('NamespacedImagePolicy');
    const spec = doc.spec.versions[0].schema.openAPIV3Schema.properties.spec as K8sObject;
    const policySpec = (rootSchema.properties as K8sObject).spec as K8sObject;
    expect(Object.keys(spec.properties).sort()).toEqual(
      Object.keys(policySpec.properties)
        .filter((k) => k !== 'namespaces')
        .sort(),
    );
  });

  it('validates as a CRD and is structural', () => {
    expect(() => new CustomResourceDefinition(parse(text)).validate()).not.toThrow();
    expect(structuralViolations(doc.spec.versions[0].schema.openAPIV3Schema as Schema)).toEqual([]);
  });
});
