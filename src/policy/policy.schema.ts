/**
 * The ImagePolicy schema (the check sections come from the check table, src/checks/kinds.ts): the single source of truth for policy-file validation, the TypeScript
 * types, and the CRD's openAPIV3Schema (scripts/generate-crd.ts renders it into the chart).
 *
 * Keep it a *structural* schema as Kubernetes requires: every node has a type, no top-level anyOf,
 * int-or-string via `x-kubernetes-int-or-string`. Public contract: field names never change.
 */
import { Type, type Static } from '@sinclair/typebox';
import { checkSectionSchemas } from '../checks/kinds.js';

export const API_GROUP = 'imagegate.dev';
export const API_VERSION = 'v1alpha1';
export const POLICY_API_VERSION = `${API_GROUP}/${API_VERSION}`;
export const POLICY_KIND = 'ImagePolicy';

const strict = { additionalProperties: false } as const;

export const ImageGlob = Type.Object(
  {
    glob: Type.String({
      minLength: 1,
      maxLength: 512,
      description: 'Image reference glob, anchored: * matches one path segment, ** any number.',
    }),
  },
  strict,
);

export const LabelSelectorRequirement = Type.Object(
  {
    key: Type.String({ minLength: 1 }),
    operator: Type.Union([
      Type.Literal('In'),
      Type.Literal('NotIn'),
      Type.Literal('Exists'),
      Type.Literal('DoesNotExist'),
    ]),
    values: Type.Optional(Type.Array(Type.String())),
  },
  strict,
);

export const NamespaceSelector = Type.Object(
  {
    include: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 63 }), { maxItems: 256 })),
    exclude: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 63 }), { maxItems: 256 })),
    matchLabels: Type.Optional(Type.Record(Type.String(), Type.String())),
    matchExpressions: Type.Optional(Type.Array(LabelSelectorRequirement, { maxItems: 32 })),
  },
  {
    ...strict,
    description: 'Namespace names (globs with *) to include/exclude and a label selector on the namespace.',
  },
);

export const Mode = Type.Union([Type.Literal('enforce'), Type.Literal('audit')]);
export const OnError = Type.Union([Type.Literal('deny'), Type.Literal('allow')]);
/** PolicyReport's severities (wgpolicyk8s.io, openreports.io), highest first. */
export const Severity = Type.Union(
  [
    Type.Literal('critical'),
    Type.Literal('high'),
    Type.Literal('medium'),
    Type.Literal('low'),
    Type.Literal('info'),
  ],
  {
    description:
      "Severity of this policy's failures in PolicyReports and the audit page; default per check (docs/policy.md).",
  },
);
export type PolicySeverity = Static<typeof Severity>;

export const ImagePolicySpec = Type.Object(
  {
    mode: Type.Optional(Mode),
    images: Type.Array(ImageGlob, { minItems: 1, maxItems: 256 }),
    exclude: Type.Optional(Type.Array(ImageGlob, { maxItems: 256 })),
    namespaces: Type.Optional(NamespaceSelector),
    requireDigest: Type.Optional(Type.Boolean()),
    onError: Type.Optional(OnError),
    severity: Type.Optional(Severity),
    platforms: Type.Optional(
      Type.Array(Type.String({ pattern: '^(all|[a-z0-9]+/[a-z0-9_]+(/[a-z0-9.]+)?)$' }), {
        minItems: 1,
        maxItems: 32,
        description: 'Platforms checked in multi-arch images: default [linux/amd64]; [all] checks every one.',
      }),
    ),
    // signature, size, base, …: one optional section per entry of the check table.
    ...checkSectionSchemas(),
  },
  strict,
);

export const ImagePolicyDocument = Type.Object(
  {
    apiVersion: Type.Literal(POLICY_API_VERSION),
    kind: Type.Literal(POLICY_KIND),
    metadata: Type.Object(
      {
        name: Type.String({ minLength: 1, maxLength: 253, pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$' }),
      },
      { additionalProperties: true },
    ),
    spec: ImagePolicySpec,
  },
  { additionalProperties: true },
);

export type ImagePolicySpec = Static<typeof ImagePolicySpec>;
export type ImagePolicyDocument = Static<typeof ImagePolicyDocument>;
export type NamespaceSelector = Static<typeof NamespaceSelector>;
export type PolicyMode = Static<typeof Mode>;
export type OnErrorAction = Static<typeof OnError>;

/** A tenant's policy (namespaced): ImagePolicy's spec minus `namespaces` (it applies in its own). */
export const TENANT_POLICY_KIND = 'NamespacedImagePolicy';

export const NamespacedImagePolicySpec = Type.Omit(ImagePolicySpec, ['namespaces'], strict);

export const NamespacedImagePolicyDocument = Type.Object(
  {
    apiVersion: Type.Literal(POLICY_API_VERSION),
    kind: Type.Literal(TENANT_POLICY_KIND),
    metadata: Type.Object(
      {
        name: Type.String({ minLength: 1, maxLength: 253, pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$' }),
        namespace: Type.String({ minLength: 1, maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' }),
      },
      { additionalProperties: true },
    ),
    spec: NamespacedImagePolicySpec,
  },
  { additionalProperties: true },
);

export type NamespacedImagePolicyDocument = Static<typeof NamespacedImagePolicyDocument>;
