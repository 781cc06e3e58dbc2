/** Schema pieces the registry config and its `cloud:` section share (options.schema.ts, credentials/cloud/). */
import { Type } from '@sinclair/typebox';

export const HOST_PATTERN =
  '^(\\*\\.)?(\\[[0-9a-fA-F:.]+\\]|[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*)(:[0-9]{1,5})?$';

export const Host = Type.String({ pattern: HOST_PATTERN, maxLength: 255, description: 'HOST[:PORT]' });

export const Duration = Type.Union([
  Type.Number({ exclusiveMinimum: 0, description: 'seconds' }),
  Type.String({ pattern: '^[0-9]+(\\.[0-9]+)?(ms|s|m)$', description: 'e.g. 500ms, 10s' }),
]);

/** An endpoint URL an operator configures (a private STS, a sovereign cloud's token service). */
export const EndpointUrl = Type.String({
  pattern: '^https?://[^\\s]+$',
  maxLength: 2048,
  description: 'URL (https; http only for a local agent or a test stand-in)',
});
