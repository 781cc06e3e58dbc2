/**
 * The registry config's `cloud:` section: one block per cloud provider. Endpoints come only from here
 * and from the process environment (the SDKs' standard variables), never from anything in a pod spec.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Duration, EndpointUrl, Host } from '../../schema-parts.js';

/** Fields every provider block has. */
export const cloudProviderCommon = {
  enabled: Type.Optional(
    Type.Boolean({
      description:
        'Use this provider for the registries its host pattern matches (default: true for aws; see docs/cloud.md).',
    }),
  ),
  registries: Type.Optional(
    Type.Array(Host, {
      maxItems: 256,
      description:
        "Only these registries (HOST or *.suffix) get this provider's tokens; default: every host its pattern matches.",
    }),
  ),
};

export const AwsCloudConfig = Type.Object(
  {
    ...cloudProviderCommon,
    region: Type.Optional(
      Type.String({
        pattern: '^[a-z0-9-]{2,32}$',
        description: "STS region (default: AWS_REGION, else the registry's region).",
      }),
    ),
    endpoints: Type.Optional(
      Type.Object(
        {
          ecr: Type.Optional(EndpointUrl),
          sts: Type.Optional(EndpointUrl),
        },
        {
          additionalProperties: false,
          description:
            "Override the ECR and STS endpoints (else AWS_ENDPOINT_URL_ECR / AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL, else the region's own). IMDS: AWS_EC2_METADATA_SERVICE_ENDPOINT.",
        },
      ),
    ),
    roleSessionName: Type.Optional(
      Type.String({ pattern: '^[\\w+=,.@-]{2,64}$', description: 'IRSA session name (default imagegate).' }),
    ),
  },
  { additionalProperties: false },
);

export const CloudConfig = Type.Object(
  {
    refreshAhead: Type.Optional(Duration),
    fetchTimeout: Type.Optional(Duration),
    aws: Type.Optional(AwsCloudConfig),
  },
  {
    additionalProperties: false,
    description: 'Registry tokens from the workload identity of the cloud imagegate runs in (docs/cloud.md).',
  },
);

export type AwsCloudConfig = Static<typeof AwsCloudConfig>;
export type CloudConfig = Static<typeof CloudConfig>;
