/**
 * The ImagePolicy schema: the single source of truth for policy-file validation, the TypeScript
 * types, and the CRD's openAPIV3Schema (scripts/generate-crd.ts renders it into the chart).
 *
 * Keep it a *structural* schema as Kubernetes requires: every node has a type, no top-level anyOf,
 * int-or-string via `x-kubernetes-int-or-string`. Public contract: field names never change.
 */
import { Type, type Static, type TOptional, type TString } from '@sinclair/typebox';
import { CLAIM_NAMES } from '../checks/signature/fulcio-claims.js';

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

/** Kubernetes quantity (e.g. 300Mi, 1G, 1048576). */
export const Quantity = Type.Union(
  [Type.Integer({ minimum: 0 }), Type.String({ pattern: '^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$' })],
  { 'x-kubernetes-int-or-string': true, description: 'Kubernetes quantity, e.g. 300Mi.' },
);

export const SecretKeyRef = Type.Object(
  {
    namespace: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
    name: Type.String({ minLength: 1, maxLength: 253 }),
    key: Type.String({ minLength: 1, maxLength: 253 }),
  },
  strict,
);

export const KeyAuthority = Type.Object(
  {
    pem: Type.Optional(Type.String({ minLength: 1, maxLength: 16384, description: 'PEM public key.' })),
    secretRef: Type.Optional(SecretKeyRef),
    hashAlgorithm: Type.Optional(
      Type.Union([Type.Literal('sha256'), Type.Literal('sha384'), Type.Literal('sha512')]),
    ),
    trustedRoot: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 253,
        description:
          "Trusted root whose transparency logs and TSAs verify this key's entries; default public-good.",
      }),
    ),
  },
  {
    ...strict,
    description: 'A public key (ECDSA P-256/P-384, RSA, Ed25519): exactly one of pem or secretRef.',
  },
);

const claimValue = Type.Optional(Type.String({ minLength: 1, maxLength: 1024 }));

/** Fulcio certificate extensions by name, each exact or as an anchored `…RegExp` (unknown names: invalid). */
export const KeylessClaims = Type.Object(
  Object.fromEntries(
    CLAIM_NAMES.flatMap((n) => [
      [n, claimValue],
      [`${n}RegExp`, claimValue],
    ]),
  ) as Record<string, TOptional<TString>>,
  {
    ...strict,
    description:
      'Fulcio certificate extensions (OIDs 1.3.6.1.4.1.57264.1.*) that must match: exact, or NameRegExp (anchored).',
  },
);

const Duration = Type.String({ pattern: '^[0-9]+(s|m|h|d|w)$', description: 'e.g. 30d' });

export const KeylessAuthority = Type.Object(
  {
    issuer: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    issuerRegExp: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    subject: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    subjectRegExp: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    claims: Type.Optional(KeylessClaims),
    trustedRoot: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 253,
        description: 'Name of a trusted root; default public-good.',
      }),
    ),
  },
  {
    ...strict,
    description: 'A Fulcio identity: one of issuer/issuerRegExp and one of subject/subjectRegExp.',
  },
);

export const Authority = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })),
    key: Type.Optional(KeyAuthority),
    keyless: Type.Optional(KeylessAuthority),
  },
  { ...strict, description: 'Exactly one of key or keyless.' },
);

export const SignatureSpec = Type.Object(
  {
    authorities: Type.Array(Authority, { minItems: 1, maxItems: 32 }),
    transparencyLog: Type.Optional(Type.Union([Type.Literal('required'), Type.Literal('optional')])),
    threshold: Type.Optional(Type.Integer({ minimum: 1, maximum: 32 })),
    maxAge: Type.Optional({
      ...Duration,
      description:
        'Image freshness: the newest verified signing time (Rekor or RFC 3161) within this, e.g. 30d.',
    }),
  },
  strict,
);

export const AttestationSpec = Type.Object(
  {
    name: Type.String({
      minLength: 1,
      maxLength: 63,
      pattern: '^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$',
      description: 'Names the attestation in messages and audit records.',
    }),
    predicateType: Type.String({
      minLength: 1,
      maxLength: 1024,
      description: 'Exact in-toto predicate type URI, e.g. https://spdx.dev/Document.',
    }),
    authorities: Type.Array(Authority, { minItems: 1, maxItems: 32 }),
    transparencyLog: Type.Optional(Type.Union([Type.Literal('required'), Type.Literal('optional')])),
    threshold: Type.Optional(Type.Integer({ minimum: 1, maximum: 32 })),
    condition: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 4096,
        description: 'CEL expression over predicate, statement, image and now; must be true.',
      }),
    ),
    maxAge: Type.Optional({
      ...Duration,
      description: 'The verified signing time (Rekor or RFC 3161) of the attestation within this, e.g. 7d.',
    }),
  },
  { ...strict, description: 'An attestation the image must carry, verified by one of its authorities.' },
);

export const SizeSpec = Type.Object(
  {
    maxCompressed: Type.Optional(Quantity),
    maxLayers: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000 })),
  },
  strict,
);

export const BaseAllowed = Type.Object(
  {
    image: Type.String({ minLength: 1, maxLength: 512, description: 'Glob over the base image reference.' }),
    signature: Type.Optional(SignatureSpec),
    candidates: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 512 }), {
        maxItems: 16,
        description: 'Tagged references whose current digests are tried when an image makes no base claim.',
      }),
    ),
  },
  strict,
);

export const BaseSpec = Type.Object(
  {
    allowed: Type.Array(BaseAllowed, { minItems: 1, maxItems: 64 }),
    proof: Type.Optional(Type.Union([Type.Literal('claim'), Type.Literal('signed'), Type.Literal('layers')])),
    maxAge: Type.Optional(Duration),
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

export const ImagePolicySpec = Type.Object(
  {
    mode: Type.Optional(Mode),
    images: Type.Array(ImageGlob, { minItems: 1, maxItems: 256 }),
    exclude: Type.Optional(Type.Array(ImageGlob, { maxItems: 256 })),
    namespaces: Type.Optional(NamespaceSelector),
    requireDigest: Type.Optional(Type.Boolean()),
    onError: Type.Optional(OnError),
    platforms: Type.Optional(
      Type.Array(Type.String({ pattern: '^(all|[a-z0-9]+/[a-z0-9_]+(/[a-z0-9.]+)?)$' }), {
        minItems: 1,
        maxItems: 32,
        description: 'Platforms checked in multi-arch images: default [linux/amd64]; [all] checks every one.',
      }),
    ),
    signature: Type.Optional(SignatureSpec),
    size: Type.Optional(SizeSpec),
    base: Type.Optional(BaseSpec),
    attestations: Type.Optional(
      Type.Array(AttestationSpec, {
        minItems: 1,
        maxItems: 16,
        description: 'Attestations every image must carry (SBOM, provenance, vulnerability scan, …).',
      }),
    ),
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
export type SignatureSpec = Static<typeof SignatureSpec>;
export type Authority = Static<typeof Authority>;
export type SizeSpec = Static<typeof SizeSpec>;
export type BaseSpec = Static<typeof BaseSpec>;
export type AttestationSpec = Static<typeof AttestationSpec>;
export type BaseAllowed = Static<typeof BaseAllowed>;
export type NamespaceSelector = Static<typeof NamespaceSelector>;
export type PolicyMode = Static<typeof Mode>;
export type OnErrorAction = Static<typeof OnError>;
