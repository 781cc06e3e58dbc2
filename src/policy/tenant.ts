/**
 * NamespacedImagePolicy: a tenant's policy. It applies only in its own namespace, in addition to the
 * cluster's ImagePolicies, and can only make a decision stricter: a field that would loosen one is
 * refused at load with what to write instead (`namespaces`, `exclude`, `onError: allow`), and its key
 * Secrets are read from its own namespace only. It is named `namespace/name` everywhere (messages,
 * status, audit, reports). It never counts as governing an image for the unmatched rule (evaluate.ts):
 * a tenant policy that matches `**` with no checks does not turn `--unmatched deny` into an allow.
 */
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { checkSectionProblems } from '../checks/kinds.js';
import { ConfigError } from '../errors.js';
import { compilePolicy, type CheckCompilers, type CompiledPolicy } from './compile.js';
import { imageGlobProblems } from './glob-check.js';
import {
  NamespacedImagePolicyDocument,
  POLICY_API_VERSION,
  TENANT_POLICY_KIND,
  type ImagePolicyDocument,
} from './policy.schema.js';
import { schemaProblems } from './validate.js';

const checker = TypeCompiler.Compile(NamespacedImagePolicyDocument);

interface KeyRef {
  path: string;
  ref: { namespace?: string; name: string; key: string };
}

type KeyField = { secretRef?: KeyRef['ref']; kms?: string };

/** Every authority `key` of a spec (signature, base.allowed[].signature, attestations[]), with its field. */
function authorityKeys(spec: ImagePolicyDocument['spec']): { path: string; key: KeyField }[] {
  const sets: [string, { authorities: { key?: KeyField }[] } | undefined][] = [
    ['spec.signature', spec.signature],
    ...(spec.base?.allowed ?? []).map((a, i): [string, typeof a.signature] => [
      `spec.base.allowed[${i}].signature`,
      a.signature,
    ]),
    ...(spec.attestations ?? []).map((a, i): [string, typeof a] => [`spec.attestations[${i}]`, a]),
  ];
  return sets.flatMap(([at, set]) =>
    (set?.authorities ?? []).flatMap((a, i) =>
      a.key !== undefined ? [{ path: `${at}.authorities[${i}].key`, key: a.key }] : [],
    ),
  );
}

/** Every `key.secretRef` of a spec, with its field. */
function keyRefs(spec: ImagePolicyDocument['spec']): KeyRef[] {
  return authorityKeys(spec).flatMap(({ path, key }) =>
    key.secretRef !== undefined ? [{ path: `${path}.secretRef`, ref: key.secretRef }] : [],
  );
}

/**
 * A tenant may not name a key service: imagegate asks it with its own cloud identity and sends that
 * identity's token to the URI's host (`azurekms://HOST/…`, `awskms://ENDPOINT/…`), and `k8s://NS/NAME`
 * would read another namespace's Secret. Key services are for cluster ImagePolicies.
 */
function kmsProblems(spec: ImagePolicyDocument['spec'], namespace: string): string[] {
  return authorityKeys(spec).flatMap(({ path, key }) =>
    key.kms !== undefined
      ? [
          `${path}.kms: a ${TENANT_POLICY_KIND} cannot use a key service ("${key.kms}": imagegate would call it with its own identity); put the public key in ${path}.pem or in a Secret of ${namespace} (${path}.secretRef)`,
        ]
      : [],
  );
}

/** The fields that would loosen a decision, refused with what to write instead. */
function looseningProblems(spec: Record<string, unknown>, namespace: string): string[] {
  const problems: string[] = [];
  if (spec.namespaces !== undefined)
    problems.push(
      `spec.namespaces: a ${TENANT_POLICY_KIND} applies only in its own namespace (${namespace}); remove the field (an ImagePolicy selects namespaces)`,
    );
  if (spec.exclude !== undefined)
    problems.push(
      `spec.exclude: a ${TENANT_POLICY_KIND} cannot exempt images (an exclusion exempts them from the unmatched rule); narrow spec.images instead`,
    );
  if (spec.onError === 'allow')
    problems.push(
      `spec.onError: "allow" is refused in a ${TENANT_POLICY_KIND}: it can only make decisions stricter, so a check that cannot complete denies; remove the field or write "deny"`,
    );
  return problems;
}

export function validateTenantPolicyDocument(doc: unknown, source: string): NamespacedImagePolicyDocument {
  const meta = (doc as { metadata?: { name?: unknown; namespace?: unknown } } | null)?.metadata;
  const id = `${typeof meta?.namespace === 'string' ? `${meta.namespace}/` : ''}${typeof meta?.name === 'string' ? meta.name : '?'}`;
  const where = `${source} (${TENANT_POLICY_KIND} "${id}")`;
  const d = doc as { apiVersion?: unknown; kind?: unknown; spec?: unknown } | null;
  if (typeof doc !== 'object' || d === null || Array.isArray(doc))
    throw new ConfigError('POLICY_INVALID', `${where}: not a YAML mapping`);
  if (d.kind !== TENANT_POLICY_KIND || d.apiVersion !== POLICY_API_VERSION) {
    throw new ConfigError(
      'POLICY_INVALID',
      `${where}: expected apiVersion ${POLICY_API_VERSION} and kind ${TENANT_POLICY_KIND}, found ${String(d.apiVersion)} ${String(d.kind)}`,
    );
  }
  const namespace = typeof meta?.namespace === 'string' ? meta.namespace : '?';
  const spec = typeof d.spec === 'object' && d.spec !== null ? (d.spec as Record<string, unknown>) : {};
  const loosening = looseningProblems(spec, namespace);
  if (loosening.length > 0)
    throw new ConfigError(
      'POLICY_INVALID',
      `${where}: refused, a tenant policy cannot loosen: ${loosening.join('; ')}`,
    );
  const problems = schemaProblems(checker, doc);
  if (problems.length === 0) {
    const typed = (doc as NamespacedImagePolicyDocument).spec;
    problems.push(
      ...imageGlobProblems(typed),
      ...checkSectionProblems(typed),
      ...kmsProblems(typed, namespace),
    );
    for (const { path, ref } of keyRefs(typed))
      if (ref.namespace !== undefined && ref.namespace !== namespace)
        problems.push(
          `${path}.namespace: a ${TENANT_POLICY_KIND} reads key Secrets from its own namespace (${namespace}) only (found "${ref.namespace}")`,
        );
  }
  if (problems.length > 0)
    throw new ConfigError('POLICY_INVALID', `${where}: invalid policy: ${problems.join('; ')}`);
  return doc as NamespacedImagePolicyDocument;
}

/** Compiles a validated tenant policy: named namespace/name, in its own namespace, keys from there. */
export function compileTenantPolicy(
  doc: NamespacedImagePolicyDocument,
  compilers: CheckCompilers,
): CompiledPolicy {
  const namespace = doc.metadata.namespace;
  const spec = structuredClone(doc.spec);
  for (const { ref } of keyRefs(spec)) ref.namespace = namespace;
  const asPolicy: ImagePolicyDocument = {
    ...doc,
    apiVersion: POLICY_API_VERSION,
    kind: 'ImagePolicy',
    metadata: { ...doc.metadata, name: `${namespace}/${doc.metadata.name}` },
    spec,
  };
  return {
    ...compilePolicy(asPolicy, compilers),
    tenant: namespace,
    matchesNamespace: (ns) => ns === namespace,
    usesNamespaceLabels: false,
  };
}
