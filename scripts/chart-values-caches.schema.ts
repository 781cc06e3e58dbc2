/**
 * Chart values for the engine's caches of verified material (scripts/chart-values.schema.ts):
 * `attestations` → `serve --attestation-cache-bytes`, `kms` → `--kms-key-refresh` (src/cli/cache-flags.ts).
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

export const KmsValues = o({
  keyRefresh: Type.String({
    pattern: '^([0-9]+[hms])*$',
    description:
      'serve --kms-key-refresh: key.kms public keys are fetched again after this (1m to 24h), and a version disabled at the key service stops admitting within it; empty: 1h.',
  }),
});
