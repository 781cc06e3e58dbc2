/**
 * The ImagePolicyException schema: the single source of the exception file format, its TypeScript
 * types and the CRD's openAPIV3Schema (scripts/generate-exception-crd.ts). Namespaced: an exception
 * applies only in its own namespace. Public contract: field names never change.
 */
import { Type, type Static } from '@sinclair/typebox';
import { ImageGlob, POLICY_API_VERSION } from './policy.schema.js';

export const EXCEPTION_KIND = 'ImagePolicyException';

/** The checks an exception may cover: the check table's sections and the digest requirement. */
export const EXEMPTABLE_CHECKS = ['signature', 'size', 'base', 'attestations', 'digest'] as const;
export type ExemptableCheck = (typeof EXEMPTABLE_CHECKS)[number];

const strict = { additionalProperties: false } as const;

/** RFC 3339 with a time zone (the API server's date-time); the value is also parsed at load. */
const RFC3339 =
  '^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$';

export const WorkloadSelector = Type.Object(
  {
    kind: Type.String({
      minLength: 1,
      maxLength: 63,
      pattern: '^[A-Z][A-Za-z0-9]*$',
      description: 'Kind of the admitted object or of its controller: Pod, Deployment, StatefulSet, …',
    }),
    name: Type.String({
      minLength: 1,
      maxLength: 253,
      description: 'Its name; * matches any run of characters (web-*).',
    }),
  },
  strict,
);

export const ImagePolicyExceptionSpec = Type.Object(
  {
    policies: Type.Array(
      Type.String({ minLength: 1, maxLength: 317, pattern: '^[a-z0-9]([-a-z0-9./]*[a-z0-9])?$' }),
      {
        minItems: 1,
        maxItems: 64,
        description:
          'Names of the policies it exempts from (ImagePolicy name, or namespace/name of a NamespacedImagePolicy). Every one must exist, or the exception is Invalid and does nothing.',
      },
    ),
    images: Type.Array(ImageGlob, { minItems: 1, maxItems: 256 }),
    checks: Type.Optional(
      Type.Array(Type.Union(EXEMPTABLE_CHECKS.map((c) => Type.Literal(c))), {
        minItems: 1,
        maxItems: EXEMPTABLE_CHECKS.length,
        description: 'Which checks it exempts (signature, size, base, attestations, digest); default all.',
      }),
    ),
    reason: Type.String({
      minLength: 1,
      maxLength: 1024,
      pattern: '\\S',
      description: 'Why: shown in every warning, audit record and report.',
    }),
    expires: Type.String({
      pattern: RFC3339,
      description:
        'RFC 3339 time it stops applying (to the second); at most --max-exception-duration (default 30d) ahead.',
    }),
    workloads: Type.Optional(
      Type.Array(WorkloadSelector, {
        minItems: 1,
        maxItems: 64,
        description: 'Only these workloads (kind and name); default every workload in the namespace.',
      }),
    ),
  },
  strict,
);

export const ImagePolicyExceptionDocument = Type.Object(
  {
    apiVersion: Type.Literal(POLICY_API_VERSION),
    kind: Type.Literal(EXCEPTION_KIND),
    metadata: Type.Object(
      {
        name: Type.String({ minLength: 1, maxLength: 253, pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$' }),
        namespace: Type.String({ minLength: 1, maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' }),
      },
      { additionalProperties: true },
    ),
    spec: ImagePolicyExceptionSpec,
  },
  { additionalProperties: true },
);

export type ImagePolicyExceptionSpec = Static<typeof ImagePolicyExceptionSpec>;
export type ImagePolicyExceptionDocument = Static<typeof ImagePolicyExceptionDocument>;
export type WorkloadSelector = Static<typeof WorkloadSelector>;
