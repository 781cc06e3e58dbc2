/**
 * Which AWS identity imagegate asks as, chosen once from the process environment in the SDK's order
 * for a pod: static keys (a CI runner), IRSA web identity (`AWS_ROLE_ARN` + `AWS_WEB_IDENTITY_TOKEN_FILE`),
 * EKS Pod Identity (`AWS_CONTAINER_CREDENTIALS_FULL_URI` + its token file), then the instance role
 * through IMDSv2 only. Each names itself (for messages and the cache key) and says how to fix it.
 */
import { fromTokenFile } from '@aws-sdk/credential-providers';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { CloudEnv } from '../source.js';
import { imdsCredentials, imdsEndpoint, MetadataHttp, podIdentityCredentials } from './metadata.js';

/** What every `from…` provider of the SDK returns (and metadata.ts's providers too). */
export type AwsCredentialsProvider = ReturnType<typeof fromTokenFile>;

export type AwsMethod = 'environment' | 'irsa' | 'pod-identity' | 'imds';

export interface AwsIdentity {
  method: AwsMethod;
  /** `role arn:… via IRSA`: no secrets. */
  describe: string;
  /** Credentials for an STS region (IRSA's STS call is regional; the others ignore it). */
  credentials(stsRegion: string): AwsCredentialsProvider;
  /** What to do when this identity gets no token. */
  fix: string;
  /** Closes the connections of its own credential calls (Pod Identity, IMDS). */
  close?(): void;
}

export interface AwsIdentityOptions {
  /** STS endpoint (config, else AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL). */
  stsEndpoint?: string | undefined;
  roleSessionName?: string | undefined;
  /** Per HTTP call to STS, the Pod Identity agent or IMDS. */
  timeoutMs: number;
  /**
   * The signal of the token fetch that is asking for credentials now (its review's deadline, through
   * the token cache): the socket of STS, the Pod Identity agent or IMDS is destroyed when it aborts,
   * not left to a timeout of its own.
   */
  callSignal?: () => AbortSignal | undefined;
}

/**
 * The SDK's HTTP handler, with each request also aborted by `callSignal()` (the SDK's credential
 * providers take no abort signal of their own; their STS client's handler does).
 */
class CallAbortableHandler extends NodeHttpHandler {
  constructor(
    timeoutMs: number,
    private readonly callSignal: () => AbortSignal | undefined,
  ) {
    super({ connectionTimeout: timeoutMs, requestTimeout: timeoutMs });
  }

  override handle(
    ...[request, options]: Parameters<NodeHttpHandler['handle']>
  ): ReturnType<NodeHttpHandler['handle']> {
    const call = this.callSignal();
    const own = options?.abortSignal as AbortSignal | undefined;
    if (call === undefined) return super.handle(request, options);
    const abortSignal = own !== undefined ? AbortSignal.any([own, call]) : call;
    return super.handle(request, { ...options, abortSignal });
  }
}

const DOCS = 'see docs/cloud.md#aws';

function nonEmpty(v: string | undefined): string | undefined {
  return v !== undefined && v.trim() !== '' ? v.trim() : undefined;
}

/** The identity the environment offers; IMDS when nothing else is set and it is not disabled. */
export function awsIdentityFrom(env: CloudEnv, options: AwsIdentityOptions): AwsIdentity | undefined {
  const keyId = nonEmpty(env.AWS_ACCESS_KEY_ID);
  if (keyId !== undefined && nonEmpty(env.AWS_SECRET_ACCESS_KEY) !== undefined) {
    const credentials = { accessKeyId: keyId, secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? '' };
    const sessionToken = nonEmpty(env.AWS_SESSION_TOKEN);
    const identity = { ...credentials, ...(sessionToken !== undefined ? { sessionToken } : {}) };
    return {
      method: 'environment',
      describe: `access key ${keyId} (AWS_ACCESS_KEY_ID)`,
      credentials: () => () => Promise.resolve(identity),
      fix: `allow ecr:GetAuthorizationToken, ecr:BatchGetImage and ecr:GetDownloadUrlForLayer to the key's user or role; ${DOCS}`,
    };
  }
  const roleArn = nonEmpty(env.AWS_ROLE_ARN);
  const tokenFile = nonEmpty(env.AWS_WEB_IDENTITY_TOKEN_FILE);
  if (roleArn !== undefined && tokenFile !== undefined) {
    return {
      method: 'irsa',
      describe: `role ${roleArn} via IRSA (web identity token ${tokenFile})`,
      credentials: (stsRegion) =>
        fromTokenFile({
          roleArn,
          webIdentityTokenFile: tokenFile,
          roleSessionName: options.roleSessionName ?? 'imagegate',
          clientConfig: {
            region: stsRegion,
            maxAttempts: 2,
            requestHandler:
              options.callSignal !== undefined
                ? new CallAbortableHandler(options.timeoutMs, options.callSignal)
                : { connectionTimeout: options.timeoutMs, requestTimeout: options.timeoutMs },
            ...(options.stsEndpoint !== undefined ? { endpoint: options.stsEndpoint } : {}),
          },
        }),
      fix:
        `the role's trust policy must accept system:serviceaccount:<namespace>:<service account> from the ` +
        `cluster's OIDC provider (audience sts.amazonaws.com), imagegate's ServiceAccount needs the annotation ` +
        `eks.amazonaws.com/role-arn (chart: serviceAccount.aws.roleArn), and the role needs ` +
        `ecr:GetAuthorizationToken, ecr:BatchGetImage, ecr:GetDownloadUrlForLayer; ${DOCS}`,
    };
  }
  const fullUri = nonEmpty(env.AWS_CONTAINER_CREDENTIALS_FULL_URI);
  if (fullUri !== undefined) {
    const token = {
      file: nonEmpty(env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE),
      value: nonEmpty(env.AWS_CONTAINER_AUTHORIZATION_TOKEN),
    };
    const http = new MetadataHttp(options.timeoutMs, options.callSignal);
    return {
      method: 'pod-identity',
      describe: `EKS Pod Identity (agent ${fullUri})`,
      credentials: () => () => podIdentityCredentials(http, fullUri, token),
      close: () => http.close(),
      fix:
        `create an EKS Pod Identity association for imagegate's namespace and ServiceAccount with a role ` +
        `allowing ecr:GetAuthorizationToken, ecr:BatchGetImage, ecr:GetDownloadUrlForLayer, and run the ` +
        `eks-pod-identity-agent add-on; ${DOCS}`,
    };
  }
  if ((env.AWS_EC2_METADATA_DISABLED ?? '').toLowerCase() === 'true') return undefined;
  const http = new MetadataHttp(options.timeoutMs, options.callSignal);
  return {
    method: 'imds',
    describe: "the node's instance role (IMDSv2)",
    credentials: () => () => imdsCredentials(http, imdsEndpoint(env)),
    close: () => http.close(),
    fix:
      `use IRSA or EKS Pod Identity (chart: serviceAccount.aws), or give the node's instance role ` +
      `ecr:GetAuthorizationToken, ecr:BatchGetImage, ecr:GetDownloadUrlForLayer (pods reach IMDSv2 only with ` +
      `a hop limit of 2); ${DOCS}`,
  };
}
