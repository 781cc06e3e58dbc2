/**
 * AWS ECR as a cloud token source: `GetAuthorizationToken` with the identity the environment offers
 * (identity.ts), one ECR client per region (bounded), answering basic `AWS:<password>` until the
 * token's `expiresAt` (12 h). Endpoints come from the `cloud.aws` block or the SDK's standard
 * variables, never from the image reference: the registry host only selects a region and FIPS.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { errorMessage } from '../../../../errors.js';
import type { AwsCloudConfig } from '../config.schema.js';
import type { CloudEnv, CloudToken, CloudTokenSource } from '../source.js';
import { parseEcrHost } from './hosts.js';
import { awsIdentityFrom, type AwsCredentialsProvider, type AwsIdentity } from './identity.js';

/** Regional clients kept; a pod naming many regions cannot grow this. */
const MAX_CLIENTS = 32;
const CALL_TIMEOUT_MS = 5000;

function nonEmpty(v: string | undefined): string | undefined {
  return v !== undefined && v.trim() !== '' ? v.trim() : undefined;
}

/** Reuses credentials until 5 minutes before they expire; one resolution at a time. */
function memoized(provider: AwsCredentialsProvider): AwsCredentialsProvider {
  let current: ReturnType<AwsCredentialsProvider> | undefined;
  let until = 0;
  return () => {
    if (current === undefined || Date.now() >= until) {
      const p = provider();
      current = p;
      until = Infinity;
      p.then(
        (c) => {
          if (c.expiration !== undefined) until = c.expiration.getTime() - 5 * 60_000;
        },
        () => {
          if (current === p) current = undefined;
        },
      );
    }
    return current;
  };
}

export class AwsEcrSource implements CloudTokenSource {
  readonly name = 'aws-ecr';
  readonly #identity: AwsIdentity;
  readonly #config: AwsCloudConfig;
  readonly #ecrEndpoint: string | undefined;
  readonly #stsRegion: string | undefined;
  readonly #clients = new Map<string, ECRClient>();
  readonly #credentials = new Map<string, AwsCredentialsProvider>();
  /** The signal of the fetch in progress, for the credential calls it makes (identity.ts: callSignal). */
  readonly #calls: AsyncLocalStorage<AbortSignal>;

  constructor(
    identity: AwsIdentity,
    config: AwsCloudConfig,
    env: CloudEnv,
    calls: AsyncLocalStorage<AbortSignal> = new AsyncLocalStorage(),
  ) {
    this.#identity = identity;
    this.#calls = calls;
    this.#config = config;
    this.#ecrEndpoint =
      config.endpoints?.ecr ?? nonEmpty(env.AWS_ENDPOINT_URL_ECR) ?? nonEmpty(env.AWS_ENDPOINT_URL);
    this.#stsRegion = config.region ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION);
  }

  matches(registry: string): boolean {
    return parseEcrHost(registry) !== undefined;
  }

  identity(): string {
    return this.#identity.describe;
  }

  get method(): AwsIdentity['method'] {
    return this.#identity.method;
  }

  async fetch(registry: string, signal: AbortSignal): Promise<CloudToken> {
    const host = parseEcrHost(registry);
    if (host === undefined) throw new Error(`${registry} is not an ECR registry host`);
    const client = this.#client(host.region, host.fips);
    // the credentials it resolves on the way (IRSA's STS call) run in this context and see `signal`
    const answer = await this.#calls.run(signal, () =>
      client.send(new GetAuthorizationTokenCommand({}), { abortSignal: signal }),
    );
    const data = answer.authorizationData?.[0];
    const encoded = data?.authorizationToken;
    if (encoded === undefined || encoded === '') throw new Error('GetAuthorizationToken answered no token');
    const decoded = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0)
      throw new Error('GetAuthorizationToken answered a token that is not base64 of user:password');
    const expiresAt = data?.expiresAt?.getTime();
    return {
      credential: { kind: 'basic', username: decoded.slice(0, colon), password: decoded.slice(colon + 1) },
      // without an expiry, ECR's documented 12 hours
      expiresAt:
        expiresAt !== undefined && Number.isFinite(expiresAt) ? expiresAt : Date.now() + 12 * 3600_000,
    };
  }

  /** The ECR API endpoint a token for `registry` is asked from (the SDK's own resolution; no call). */
  endpointFor(registry: string): string | undefined {
    const host = parseEcrHost(registry);
    if (host === undefined) return undefined;
    if (this.#ecrEndpoint !== undefined) return this.#ecrEndpoint;
    const client = this.#client(host.region, host.fips);
    return client.config.endpointProvider({ Region: host.region, UseFIPS: host.fips, UseDualStack: false })
      .url.href;
  }

  remedy(error: unknown): string {
    const name = (error as { name?: unknown } | null)?.name;
    const text = `${typeof name === 'string' ? name : ''} ${errorMessage(error)}`;
    if (/GetAuthorizationToken/.test(text) && /AccessDenied/.test(text)) {
      return `allow ecr:GetAuthorizationToken (and ecr:BatchGetImage, ecr:GetDownloadUrlForLayer on the repositories) to ${this.#identity.describe}; see docs/cloud.md#aws`;
    }
    return this.#identity.fix;
  }

  #client(region: string, fips: boolean): ECRClient {
    const key = `${region}|${fips}`;
    let client = this.#clients.get(key);
    if (client !== undefined) return client;
    const stsRegion = this.#stsRegion ?? region;
    let credentials = this.#credentials.get(stsRegion);
    if (credentials === undefined) {
      credentials = memoized(this.#identity.credentials(stsRegion));
      this.#credentials.set(stsRegion, credentials);
    }
    client = new ECRClient({
      region,
      credentials,
      maxAttempts: 2,
      requestHandler: { connectionTimeout: CALL_TIMEOUT_MS, requestTimeout: CALL_TIMEOUT_MS },
      ...(this.#ecrEndpoint !== undefined ? { endpoint: this.#ecrEndpoint } : { useFipsEndpoint: fips }),
    });
    if (this.#clients.size >= MAX_CLIENTS) {
      const [oldestKey, oldest] = this.#clients.entries().next().value ?? [];
      if (oldestKey !== undefined) this.#clients.delete(oldestKey);
      oldest?.destroy();
    }
    this.#clients.set(key, client);
    return client;
  }

  /** For tests and shutdown: the regional clients' sockets. */
  close(): void {
    for (const c of this.#clients.values()) c.destroy();
    this.#clients.clear();
    this.#identity.close?.();
  }

  get config(): AwsCloudConfig {
    return this.#config;
  }
}

/** The `cloud.aws` factory: enabled unless `enabled: false`; undefined without any AWS identity. */
export function awsEcrSource(config: { aws?: AwsCloudConfig }, env: CloudEnv): AwsEcrSource | undefined {
  const aws = config.aws ?? {};
  if (aws.enabled === false) return undefined;
  const calls = new AsyncLocalStorage<AbortSignal>();
  const identity = awsIdentityFrom(env, {
    stsEndpoint: aws.endpoints?.sts ?? nonEmpty(env.AWS_ENDPOINT_URL_STS) ?? nonEmpty(env.AWS_ENDPOINT_URL),
    roleSessionName: aws.roleSessionName,
    timeoutMs: CALL_TIMEOUT_MS,
    callSignal: () => calls.getStore(),
  });
  return identity !== undefined ? new AwsEcrSource(identity, aws, env, calls) : undefined;
}
