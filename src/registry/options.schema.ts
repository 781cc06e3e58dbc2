/** The `--registry-config FILE` YAML (and later the Helm values' `registry:` block). */
import { Type, type Static } from '@sinclair/typebox';
import { CloudConfig } from './credentials/cloud/config.schema.js';
import { Duration, Host, HOST_PATTERN } from './schema-parts.js';

export { HOST_PATTERN } from './schema-parts.js';

const Count = (description: string): ReturnType<typeof Type.Integer> =>
  Type.Integer({ minimum: 1, description });

/** Budgets per review and per process (docs/security.md); every field optional, defaults in limits.ts. */
export const Limits = Type.Object(
  {
    maxImagesPerReview: Type.Optional(Count('Distinct images one review may resolve (default 64).')),
    maxPlatformsPerImage: Type.Optional(Count('Platform manifests checked per image (default 32).')),
    maxLayersPerManifest: Type.Optional(Count('Layers in one manifest (default 1024).')),
    maxManifestsPerIndex: Type.Optional(
      Count('Manifests listed in one index or referrers index (default 1024).'),
    ),
    maxSignaturesPerImage: Type.Optional(
      Count('Signature layers plus bundle referrers per image (default 32).'),
    ),
    maxConnectionsPerRegistry: Type.Optional(Count('Open connections to one registry host (default 64).')),
    maxConnections: Type.Optional(
      Count('Open connections to all registries and token services (default 256).'),
    ),
    maxIdleSockets: Type.Optional(
      Type.Integer({
        minimum: 0,
        description:
          'Keep-alive sockets left open to registries with no request in flight, all hosts together (default 64).',
      }),
    ),
    maxBytesInFlight: Type.Optional(
      Type.Integer({
        minimum: 1048576,
        description: 'Registry response bytes buffered by the process (default 64 MiB).',
      }),
    ),
    maxBytesPerReview: Type.Optional(
      Type.Integer({
        minimum: 65536,
        description: 'Registry response bytes one review may buffer (default 32 MiB).',
      }),
    ),
  },
  { additionalProperties: false },
);

export const RegistryHostConfig = Type.Object(
  {
    insecure: Type.Optional(Type.Boolean({ description: 'Plain HTTP to this registry.' })),
    caFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM file of extra CA certificates.' })),
    ca: Type.Optional(Type.String({ minLength: 1, description: 'PEM text of extra CA certificates.' })),
    mirrors: Type.Optional(
      Type.Array(Host, { maxItems: 16, description: 'Tried in order before the registry.' }),
    ),
    address: Type.Optional(
      Type.String({
        pattern: HOST_PATTERN,
        maxLength: 255,
        description:
          "Connect to this HOST[:PORT] instead of resolving the registry's name (a private endpoint); TLS verifies the registry's name.",
      }),
    ),
    username: Type.Optional(Type.String({ minLength: 1 })),
    password: Type.Optional(Type.String()),
    passwordFile: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);

export const RegistryConfigFile = Type.Object(
  {
    allow: Type.Optional(
      Type.Array(Host, {
        maxItems: 256,
        description: 'Only these registries are contacted (*.suffix allowed).',
      }),
    ),
    allowAuth: Type.Optional(
      Type.Array(Host, {
        maxItems: 256,
        description:
          'With an allowlist: token services a registry may name as Bearer realm besides itself, its mirrors and the allowed registries.',
      }),
    ),
    limits: Type.Optional(Limits),
    requestTimeout: Type.Optional(Duration),
    dockerConfig: Type.Optional(
      Type.String({ minLength: 1, description: 'Docker config.json with credentials.' }),
    ),
    cacheMaxBytes: Type.Optional(Type.Integer({ minimum: 0 })),
    tagTtl: Type.Optional(Duration),
    registries: Type.Optional(Type.Record(Type.String({ pattern: HOST_PATTERN }), RegistryHostConfig)),
    cloud: Type.Optional(CloudConfig),
  },
  { additionalProperties: false },
);

export type RegistryHostConfig = Static<typeof RegistryHostConfig>;
export type RegistryConfigFile = Static<typeof RegistryConfigFile>;
