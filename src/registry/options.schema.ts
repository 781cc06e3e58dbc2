/** The `--registry-config FILE` YAML (and later the Helm values' `registry:` block). */
import { Type, type Static } from '@sinclair/typebox';

export const HOST_PATTERN =
  '^(\\*\\.)?(\\[[0-9a-fA-F:.]+\\]|[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*)(:[0-9]{1,5})?$';

const Host = Type.String({ pattern: HOST_PATTERN, maxLength: 255, description: 'HOST[:PORT]' });
const Duration = Type.Union([
  Type.Number({ exclusiveMinimum: 0, description: 'seconds' }),
  Type.String({ pattern: '^[0-9]+(\\.[0-9]+)?(ms|s|m)$', description: 'e.g. 500ms, 10s' }),
]);

export const RegistryHostConfig = Type.Object(
  {
    insecure: Type.Optional(Type.Boolean({ description: 'Plain HTTP to this registry.' })),
    caFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM file of extra CA certificates.' })),
    ca: Type.Optional(Type.String({ minLength: 1, description: 'PEM text of extra CA certificates.' })),
    mirrors: Type.Optional(
      Type.Array(Host, { maxItems: 16, description: 'Tried in order before the registry.' }),
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
    requestTimeout: Type.Optional(Duration),
    dockerConfig: Type.Optional(
      Type.String({ minLength: 1, description: 'Docker config.json with credentials.' }),
    ),
    cacheMaxBytes: Type.Optional(Type.Integer({ minimum: 0 })),
    tagTtl: Type.Optional(Duration),
    registries: Type.Optional(Type.Record(Type.String({ pattern: HOST_PATTERN }), RegistryHostConfig)),
  },
  { additionalProperties: false },
);

export type RegistryHostConfig = Static<typeof RegistryHostConfig>;
export type RegistryConfigFile = Static<typeof RegistryConfigFile>;
