/** `cloudIdentity` of charts/imagegate/values.yaml (scripts/chart-values.schema.ts): docs/cloud.md. */
import { Type, type TSchema } from '@sinclair/typebox';

const o = <T extends Record<string, TSchema>>(props: T, description?: string) =>
  Type.Object(props, { additionalProperties: false, ...(description === undefined ? {} : { description }) });

export const CloudIdentityValues = o(
  {
    aws: o({
      roleArn: Type.String({
        pattern: '^(arn:aws[a-z-]*:iam::[0-9]{12}:role/[\\w+=,.@/-]{1,512})?$',
        description: 'IRSA: annotates the ServiceAccount with eks.amazonaws.com/role-arn.',
      }),
      region: Type.String({
        pattern: '^([a-z]{2}(-[a-z]+)+-[0-9]{1,2})?$',
        description: 'Sets AWS_REGION (the STS region for IRSA); EKS injects it itself.',
      }),
    }),
    gcp: o({
      serviceAccount: Type.String({
        pattern: '^([a-z0-9-]+@[a-z0-9-]+\\.iam\\.gserviceaccount\\.com)?$',
        description:
          'GKE Workload Identity: annotates the ServiceAccount with iam.gke.io/gcp-service-account and sets GCE_METADATA_HOST.',
      }),
    }),
    azure: o({
      clientId: Type.String({
        pattern: '^([0-9a-fA-F-]{36})?$',
        description:
          'Azure Workload Identity: the azure.workload.identity/client-id annotation and the pod label azure.workload.identity/use.',
      }),
      tenantId: Type.String({
        pattern: '^([0-9a-fA-F-]{36})?$',
        description: "Optional azure.workload.identity/tenant-id annotation (default: the cluster's tenant).",
      }),
    }),
  },
  "imagegate's own cloud identity for cloud registries (docs/cloud.md); empty values add nothing.",
);
