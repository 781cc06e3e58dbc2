/** ImagePolicy documents as plain objects (what a YAML or JSON file parses to), for validation tests. */
import { parse } from 'yaml';

export interface PolicyObject {
  apiVersion: 'imagegate.dev/v1alpha1';
  kind: 'ImagePolicy';
  metadata: { name: string };
  spec: Record<string, unknown>;
}

/** `spec` defaults to the smallest valid one: every image. */
export function policyObject(
  name: string,
  spec: Record<string, unknown> = { images: [{ glob: '**' }] },
): PolicyObject {
  return { apiVersion: 'imagegate.dev/v1alpha1', kind: 'ImagePolicy', metadata: { name }, spec };
}

/** A policy whose only authority is `authority`, for every image. */
export function authorityPolicy(name: string, authority: Record<string, unknown>): PolicyObject {
  return policyObject(name, { images: [{ glob: '**' }], signature: { authorities: [authority] } });
}

/** An ImagePolicy as the text of a policy file (JSON is YAML); several join with `---`. */
export function policyYaml(name: string, spec: Record<string, unknown>): string {
  return `${JSON.stringify(policyObject(name, spec))}\n`;
}

/** A namespaced document (`NamespacedImagePolicy`, `ImagePolicyException`) parsed from YAML `spec` lines. */
export function namespacedDocument(kind: string, spec: string, namespace: string, name: string): unknown {
  const indented = spec
    .trim()
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
  return parse(
    `apiVersion: imagegate.dev/v1alpha1\nkind: ${kind}\nmetadata: { name: ${name}, namespace: ${namespace} }\nspec:\n${indented}\n`,
  );
}
