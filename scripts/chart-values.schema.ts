/**
 * The schema of charts/imagegate/values.yaml, rendered into values.schema.json by
 * scripts/generate-crd.ts (`npm run crd`). Strict: additionalProperties false on every object the chart
 * owns; `policies` reuses ImagePolicySpec, so Helm rejects a bad policy before anything reaches a cluster.
 * The only free-form nodes are Kubernetes pass-through objects (affinity, topology spread, annotations,
 * the registry config the server validates itself); the chart tests validate what they render into.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { ImagePolicySpec } from '../src/policy/policy.schema.js';
import { AttestationsValues, KmsValues } from './chart-values-caches.schema.js';
import { CloudIdentityValues } from './chart-values-cloud.schema.js';

const strict = { additionalProperties: false } as const;
const o = <T extends Record<string, TSchema>>(props: T, description?: string) =>
  Type.Object(props, { ...strict, ...(description === undefined ? {} : { description }) });
const opt = Type.Optional;
const str = (description?: string) => Type.String(description === undefined ? {} : { description });
const bool = () => Type.Boolean();
const strMap = () => Type.Record(Type.String(), Type.String());
/** A Kubernetes object passed through verbatim (validated after rendering, not here). */
const k8s = (description: string) => Type.Object({}, { additionalProperties: true, description });
const hostPort = Type.String({ pattern: '^[A-Za-z0-9.\\-\\[\\]:]+$', description: 'HOST[:PORT]' });
const dnsName = Type.String({ pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 });
const quantity = Type.Union([
  Type.String({ pattern: '^[0-9]+(\\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$' }),
  Type.Number(),
]);
/** Bytes as imagegate's size flags read them: a whole number or one with a binary/decimal suffix. */
const byteSize = (description: string) =>
  Type.Union([Type.Integer({ minimum: 0 }), Type.String({ pattern: '^[0-9]+(Ki|Mi|Gi|k|M|G)?$' })], {
    description,
  });
const duration = (description: string) => Type.String({ pattern: '^[0-9]+(ms|s|m)$', description });
const resourceList = o({ cpu: opt(quantity), memory: opt(quantity), 'ephemeral-storage': opt(quantity) });
const resources = o({ requests: opt(resourceList), limits: opt(resourceList) });
const image = o({
  repository: str(),
  tag: opt(str('Defaults to the chart appVersion.')),
  digest: opt(
    Type.String({
      pattern: '^(sha256:[a-f0-9]{64})?$',
      description:
        'Manifest digest printed by `npm run image`; when set the Deployment runs REPOSITORY@DIGEST (wins over tag).',
    }),
  ),
  pullPolicy: opt(Type.Union([Type.Literal('Always'), Type.Literal('IfNotPresent'), Type.Literal('Never')])),
});
const toleration = o({
  key: opt(str()),
  operator: opt(Type.Union([Type.Literal('Exists'), Type.Literal('Equal')])),
  value: opt(str()),
  effect: opt(
    Type.Union([
      Type.Literal('NoSchedule'),
      Type.Literal('PreferNoSchedule'),
      Type.Literal('NoExecute'),
      Type.Literal(''),
    ]),
  ),
  tolerationSeconds: opt(Type.Integer()),
});
const failurePolicy = Type.Union([Type.Literal(''), Type.Literal('Fail'), Type.Literal('Ignore')], {
  description: 'Empty: Fail when mode is enforce, otherwise Ignore.',
});
const labelSelectorRequirement = o({
  key: str(),
  operator: Type.Union([
    Type.Literal('In'),
    Type.Literal('NotIn'),
    Type.Literal('Exists'),
    Type.Literal('DoesNotExist'),
  ]),
  values: opt(Type.Array(Type.String())),
});
const matchCondition = o({ name: str(), expression: str() });
const webhookCommon = {
  failurePolicy: opt(failurePolicy),
  timeoutSeconds: opt(Type.Integer({ minimum: 1, maximum: 30 })),
};

export const ValuesSchema = o({
  nameOverride: opt(str()),
  fullnameOverride: opt(str()),
  image,
  imagePullSecrets: opt(Type.Array(o({ name: str() }))),
  replicaCount: Type.Integer({ minimum: 1 }),
  mode: Type.Union([Type.Literal('audit'), Type.Literal('enforce')]),
  unmatched: Type.Union(
    [Type.Literal(''), Type.Literal('allow'), Type.Literal('audit'), Type.Literal('deny')],
    {
      description:
        'Images no policy governs (--unmatched). Empty: follow mode (audit → audit; enforce → deny where an enforcing policy applies).',
    },
  ),
  logLevel: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace'].map((l) => Type.Literal(l))),
  policies: o({
    watch: bool(),
    items: Type.Record(Type.String({ pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$' }), ImagePolicySpec, {
      additionalProperties: false,
      description: 'ImagePolicy name → spec.',
    }),
  }),
  registry: o({
    config: k8s('Contents of the --registry-config file; stored in a Secret (it may hold credentials).'),
    existingSecret: opt(str('Secret with key registries.yaml; replaces registry.config.')),
    insecure: Type.Array(hostPort),
    allow: Type.Array(hostPort),
    allowAuth: opt(
      Type.Array(hostPort, {
        description: 'With an allowlist: token services registries may name (--allow-auth-host).',
      }),
    ),
    pullSecrets: o(
      { enabled: bool() },
      "Read pods' imagePullSecrets and service accounts (cluster-wide get).",
    ),
  }),
  trustedRoots: o({
    roots: Type.Record(dnsName, Type.String({ minLength: 2 }), {
      additionalProperties: false,
      description: 'name → trusted_root.json contents.',
    }),
    existingConfigMap: opt(str()),
    existingNames: opt(Type.Array(dnsName)),
  }),
  webhook: o({
    ...webhookCommon,
    name: opt(str()),
    url: opt(
      Type.String({
        pattern: '^(https://[^/?#@\\s]+/?)?$',
        description:
          'https://HOST[:PORT] of an out-of-cluster imagegate serve; the webhooks call URL/validate instead of the Service.',
      }),
    ),
    excludeNamespaces: Type.Array(Type.String()),
    namespaceSelector: o({ matchExpressions: Type.Array(labelSelectorRequirement) }),
    objectSelector: o({
      matchLabels: opt(strMap()),
      matchExpressions: opt(Type.Array(labelSelectorRequirement)),
    }),
    matchConditions: o({
      skipUnchangedUpdates: bool(),
      skipNodeRequests: bool(),
      extra: Type.Array(matchCondition),
    }),
    ephemeralContainers: bool(),
  }),
  mutating: o({
    enabled: bool(),
    ...webhookCommon,
    reinvocationPolicy: opt(Type.Union([Type.Literal('Never'), Type.Literal('IfNeeded')])),
  }),
  tls: o({
    certManager: o({
      enabled: bool(),
      issuerRef: o({ name: opt(str()), kind: opt(str()), group: opt(str()) }),
      duration: opt(str()),
      renewBefore: opt(str()),
    }),
    validityDays: Type.Integer({ minimum: 1 }),
    existingSecret: o({
      name: opt(str()),
      caBundle: opt(str("PEM of the CA that signed the existing Secret's certificate.")),
    }),
    clientCA: o({ pem: opt(str()), existingConfigMap: opt(str()), key: opt(str()) }),
  }),
  service: o({ port: Type.Integer({ minimum: 1, maximum: 65535 }), annotations: opt(strMap()) }),
  serviceAccount: o({ create: bool(), name: opt(str()), annotations: opt(strMap()) }),
  cloudIdentity: CloudIdentityValues,
  backgroundAudit: o({
    enabled: Type.Union([Type.Literal('auto'), Type.Boolean()], {
      description: 'serve --background-audit: auto = on in audit mode, off in enforce mode.',
    }),
    interval: Type.String({
      pattern: '^([0-9]+(\\.[0-9]+)?[hms])+$',
      description: 'Between runs, e.g. 1h or 30m (at least 1m).',
    }),
  }),
  reports: o({
    kind: Type.Union([Type.Literal('policyreports'), Type.Literal('openreports')]),
    installCRDs: bool(),
  }),
  events: o({ enabled: bool() }),
  warmUp: o({
    enabled: Type.Boolean({
      description:
        "serve --warm-up: not ready until synthetic signed images were reviewed (a new replica's first pods faster).",
    }),
  }),
  exceptions: o({
    maxDuration: Type.String({
      pattern: '^([0-9]+[dhm])*$',
      description: 'serve --max-exception-duration, e.g. 30d, 7d or 12h; empty: 30d.',
    }),
  }),
  attestations: AttestationsValues,
  kms: KmsValues,
  rbac: o({
    create: bool(),
    namespaceLabels: Type.Union([Type.Literal('auto'), Type.Boolean()], {
      description:
        'Grant namespaces get/list/watch: auto = when a values policy selects namespaces by label.',
    }),
    secretNamespaces: Type.Array(Type.String(), {
      description: 'Namespaces where key secretRefs and kms: k8s:// Secrets live (Role get).',
    }),
  }),
  podAnnotations: opt(strMap()),
  podLabels: opt(strMap()),
  priorityClassName: opt(str()),
  priorityClass: o({
    create: bool(),
    value: Type.Integer({ minimum: 0, maximum: 1_000_000_000 }),
  }),
  resources,
  nodeHeapMiB: opt(
    Type.Integer({
      minimum: 64,
      description: 'V8 heap limit (NODE_OPTIONS=--max-old-space-size); keep it well under limits.memory.',
    }),
  ),
  nodeSemiSpaceMiB: opt(
    Type.Integer({
      minimum: 1,
      description:
        'V8 semi-space limit in MiB (NODE_OPTIONS=--max-semi-space-size; the young generation is two of them).',
    }),
  ),
  mallocMmapThreshold: opt(
    Type.Integer({
      minimum: 4096,
      maximum: 33_554_432,
      description:
        'glibc MALLOC_MMAP_THRESHOLD_ in bytes: blocks this large are mmapped and returned to the system when freed (null: glibc default, dynamic).',
    }),
  ),
  nodeSelector: opt(strMap()),
  tolerations: opt(Type.Array(toleration)),
  affinity: opt(k8s('Pod affinity; empty: prefer spreading replicas across nodes.')),
  topologySpreadConstraints: opt(Type.Array(k8s('A topologySpreadConstraint.'))),
  podDisruptionBudget: o({ enabled: bool(), minAvailable: opt(Type.Integer({ minimum: 0 })) }),
  cacheDir: o({ sizeLimit: quantity }),
  probes: o({
    liveness: o({
      periodSeconds: Type.Integer({ minimum: 1 }),
      failureThreshold: Type.Integer({ minimum: 1 }),
    }),
    readiness: o({
      periodSeconds: Type.Integer({ minimum: 1 }),
      failureThreshold: Type.Integer({ minimum: 1 }),
    }),
  }),
  requestBodies: o(
    {
      maxInFlight: opt(Type.Integer({ minimum: 1, description: '--max-request-bodies (default 256)' })),
      maxBytesInFlight: opt(byteSize('--max-request-body-bytes (default 24Mi)')),
      maxPerAddress: opt(
        Type.Integer({ minimum: 1, description: '--max-request-bodies-per-address (default 32)' }),
      ),
      maxBytesPerAddress: opt(byteSize('--max-request-body-bytes-per-address (default 8Mi)')),
      receiveTimeout: opt(duration('--request-body-timeout (default 10s)')),
      firstByteTimeout: opt(duration('--request-body-first-byte-timeout (default 2s)')),
      minBytesPerSecond: opt(byteSize('--request-body-min-rate (default 16Ki; 0: no minimum)')),
    },
    'Request bodies in flight (docs/security.md); unset keys keep imagegate defaults.',
  ),
  terminationGracePeriodSeconds: Type.Integer({ minimum: 1 }),
  extraArgs: Type.Array(Type.String()),
  extraEnv: Type.Array(o({ name: str(), value: str() })),
  networkPolicy: o({
    enabled: bool(),
    ingressFrom: Type.Array(
      k8s('A NetworkPolicyPeer allowed to reach port 8443 (the API server, Prometheus); empty: any.'),
    ),
    egressPorts: Type.Array(Type.Integer({ minimum: 1, maximum: 65535 }), {
      description: 'TCP ports imagegate may reach (registries, TUF, API server); DNS is always allowed.',
    }),
  }),
  serviceMonitor: o({
    enabled: bool(),
    interval: opt(str()),
    labels: opt(strMap()),
  }),
  test: o({
    image: o({
      repository: str(),
      tag: str(),
      digest: opt(Type.String({ pattern: '^(sha256:[a-f0-9]{64})?$' })),
    }),
  }),
});

/** JSON Schema for Helm: plain JSON (no TypeBox symbols), draft-07 dialect. */
export function valuesJsonSchema(): Record<string, unknown> {
  const plain = JSON.parse(JSON.stringify(ValuesSchema)) as Record<string, unknown>;
  return { $schema: 'http://json-schema.org/draft-07/schema#', title: 'imagegate Helm values', ...plain };
}
