/**
 * The registry config's `cloud:` section: one block per cloud provider. Endpoints come only from here
 * and from the process environment (the SDKs' standard variables), never from anything in a pod spec.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Duration, EndpointUrl, Host, HOST_PATTERN } from '../../schema-parts.js';

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

const extraHosts = {
  hosts: Type.Optional(
    Type.Array(Host, {
      maxItems: 64,
      description:
        "More registry hosts (HOST[:PORT] or *.suffix) that take this identity's tokens besides the provider's own host pattern: a pull-through proxy or private endpoint in front of the cloud registry.",
    }),
  ),
};

export const GcpCloudConfig = Type.Object(
  {
    ...cloudProviderCommon,
    ...extraHosts,
    credentialsFile: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'An external_account or service_account JSON file (default: GOOGLE_APPLICATION_CREDENTIALS; without one, the metadata server).',
      }),
    ),
    metadataHost: Type.Optional(
      Type.String({
        pattern: HOST_PATTERN,
        maxLength: 255,
        description:
          'The GKE/GCE metadata server, HOST[:PORT] (default: GCE_METADATA_HOST, else metadata.google.internal).',
      }),
    ),
  },
  { additionalProperties: false },
);

export const AzureCloudConfig = Type.Object(
  {
    ...cloudProviderCommon,
    ...extraHosts,
    cloud: Type.Optional(
      Type.Union(
        [
          Type.Literal('AzurePublicCloud'),
          Type.Literal('AzureChinaCloud'),
          Type.Literal('AzureUSGovernment'),
        ],
        {
          description:
            'The Azure cloud of the identity and its registries (default: the one AZURE_AUTHORITY_HOST names, else AzurePublicCloud).',
        },
      ),
    ),
    authorityHost: Type.Optional(EndpointUrl),
    audience: Type.Optional(
      Type.String({
        pattern: '^https://[^\\s/]+/?$',
        maxLength: 255,
        description:
          "The ACR audience Entra issues the token for (default: the cloud's, e.g. https://containerregistry.azure.net; never ARM).",
      }),
    ),
  },
  { additionalProperties: false },
);

export const CloudConfig = Type.Object(
  {
    refreshAhead: Type.Optional(Duration),
    fetchTimeout: Type.Optional(Duration),
    aws: Type.Optional(AwsCloudConfig),
    gcp: Type.Optional(GcpCloudConfig),
    azure: Type.Optional(AzureCloudConfig),
  },
  {
    additionalProperties: false,
    description: 'Registry tokens from the workload identity of the cloud imagegate runs in (docs/cloud.md).',
  },
);

export type AwsCloudConfig = Static<typeof AwsCloudConfig>;
export type CloudConfig = Static<typeof CloudConfig>;
export type GcpCloudConfig = Static<typeof GcpCloudConfig>;
export type AzureCloudConfig = Static<typeof AzureCloudConfig>;
