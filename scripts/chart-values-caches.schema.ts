/**
 * Chart values for the engine's caches of verified material (scripts/chart-values.schema.ts):
 * `attestations` → `serve --attestation-cache-bytes` (src/cli/cache-flags.ts).
 */
import { Type, type TSchema } from '@sinclair/typebox';

const o = <T extends Record<string, TSchema>>(props: T, description?: string) =>
  Type.Object(props, { additionalProperties: false, ...(description === undefined ? {} : { description }) });

export const AttestationsValues = o({
  cacheMaxBytes: Type.Union(
    [Type.Integer({ minimum: 0 }), Type.String({ pattern: '^([0-9]+(Ki|Mi|Gi|k|M|G)?)?$' })],
    {
      description:
        'serve --attestation-cache-bytes: verified attestation statements kept across reviews (0: none); empty: 16Mi. Counted in resources.limits.memory and nodeHeapMiB: raise them with it.',
    },
  ),
});
