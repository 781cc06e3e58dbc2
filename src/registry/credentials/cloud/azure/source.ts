/**
 * Azure Container Registry (`*.azurecr.io`, `.azurecr.cn`, `.azurecr.us`) as the pod's Azure workload
 * identity (`AZURE_CLIENT_ID`, `AZURE_TENANT_ID`, `AZURE_FEDERATED_TOKEN_FILE`, `AZURE_AUTHORITY_HOST`,
 * injected by the AKS workload identity webhook). The identity lives in one cloud (the authority's,
 * or `cloud:` in config); a registry of another cloud is refused with the fix, never sent a token.
 */
import { rootCertificates } from 'node:tls';
import { Agent, type Dispatcher } from 'undici';
import { errorMessage } from '../../../../errors.js';
import { isRegistryAllowed } from '../../../allow.js';
import {
  acrRefreshToken,
  AZURE_CLOUDS,
  azureCloudOfAuthority,
  azureCloudOfRegistry,
  entraToken,
  type AzureCloudName,
} from './token.js';
import { unavailable, type CloudHttp } from '../oauth-http.js';
import { SharedToken } from '../shared-token.js';
import type { AzureCloudConfig } from '../config.schema.js';
import type { CloudEnv, CloudToken, CloudTokenSource, RegistryEndpoints } from '../source.js';

export interface AzureSourceOptions {
  clientId?: string | undefined;
  tenantId?: string | undefined;
  federatedTokenFile?: string | undefined;
  /** AZURE_AUTHORITY_HOST or configuration; default: the cloud's own. */
  authorityHost?: string | undefined;
  /** Default: the cloud AZURE_AUTHORITY_HOST belongs to, else AzurePublicCloud. */
  cloud?: AzureCloudName | undefined;
  /** The ACR audience; default: the cloud's (`https://containerregistry.azure.net` for the public cloud). */
  audience?: string | undefined;
  /** More registry hosts this identity serves (operator configuration: a test registry, a proxy). */
  hosts?: readonly string[] | undefined;
  /** Only these registries (HOST or `*.suffix`) get tokens (`registries:` of the block). */
  registries?: readonly string[] | undefined;
  timeoutMs?: number | undefined;
  dispatcher?: Dispatcher | undefined;
  now?: () => number;
  /**
   * `registries.<host>` of the registry config: the exchange is on the registry, so it connects to its
   * `address`, trusts its `ca` and uses plain HTTP when it is `insecure`, as the registry client does.
   */
  endpoints?: RegistryEndpoints | undefined;
}

/** Registries with their own connection settings whose agents are kept (least recently made out first). */
const MAX_REGISTRY_AGENTS = 32;

const REMEDY =
  "label imagegate's pods azure.workload.identity/use=true and annotate its ServiceAccount with " +
  'azure.workload.identity/client-id (chart value cloudIdentity.azure.clientId); add a federated credential for ' +
  'system:serviceaccount:<namespace>:<serviceaccount> with the cluster OIDC issuer to that identity, and ' +
  'grant it AcrPull on the registry (docs/cloud.md#azure)';

const LOOPBACK_HOST = /^(127\.[0-9.]+|localhost|\[::1\])(:[0-9]+)?$/i;

export class AzureTokenSource implements CloudTokenSource {
  readonly name = 'azure-acr';
  readonly #options: AzureSourceOptions;
  readonly #cloud: AzureCloudName;
  readonly #authorityHost: string;
  readonly #audience: string;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  readonly #entra: SharedToken;
  #dispatcher: Dispatcher | undefined;
  readonly #registryAgents = new Map<string, Agent>();

  constructor(options: AzureSourceOptions) {
    this.#options = options;
    this.#cloud =
      options.cloud ??
      (options.authorityHost !== undefined ? azureCloudOfAuthority(options.authorityHost) : undefined) ??
      'AzurePublicCloud';
    const cloud = AZURE_CLOUDS[this.#cloud];
    this.#authorityHost = options.authorityHost ?? cloud.authorityHost;
    this.#audience = options.audience ?? cloud.audience;
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#dispatcher = options.dispatcher;
    this.#now = options.now ?? Date.now;
    this.#entra = new SharedToken((signal) => this.#entraToken(signal), this.#timeoutMs * 2, this.#now);
  }

  matches(registry: string): boolean {
    const registries = this.#options.registries;
    if (registries !== undefined && !isRegistryAllowed(registries, registry)) return false;
    return azureCloudOfRegistry(registry) !== undefined || this.#extraHost(registry);
  }

  #extraHost(registry: string): boolean {
    const hosts = this.#options.hosts;
    return hosts !== undefined && hosts.length > 0 && isRegistryAllowed(hosts, registry);
  }

  identity(): string {
    const o = this.#options;
    return `client ${o.clientId ?? '(AZURE_CLIENT_ID unset)'} in tenant ${o.tenantId ?? '(AZURE_TENANT_ID unset)'} (${this.#cloud}, audience ${this.#audience})`;
  }

  async fetch(registry: string, signal: AbortSignal): Promise<CloudToken> {
    const other = azureCloudOfRegistry(registry);
    if (other !== undefined && other !== this.#cloud && !this.#extraHost(registry))
      throw unavailable(
        `${registry} is a registry of ${other}, but the workload identity is in ${this.#cloud}; ` +
          `set cloud.azure.cloud: ${other} (and run imagegate in that cloud)`,
      );
    const entra = await this.#entra.get(signal);
    const tenantId = this.#options.tenantId ?? '';
    const { base, dispatcher } = this.#registryRoute(registry);
    const http = { ...this.#http(signal), ...(dispatcher !== undefined ? { dispatcher } : {}) };
    const insecure = base.startsWith('http:');
    const refresh = await acrRefreshToken(http, base, registry, tenantId, entra, this.#now(), insecure);
    return { credential: { kind: 'identityToken', token: refresh.token }, expiresAt: refresh.expiresAtMs };
  }

  remedy(error: unknown): string {
    const o = this.#options;
    const missing = [
      o.clientId === undefined ? 'AZURE_CLIENT_ID' : undefined,
      o.tenantId === undefined ? 'AZURE_TENANT_ID' : undefined,
      o.federatedTokenFile === undefined ? 'AZURE_FEDERATED_TOKEN_FILE' : undefined,
    ].filter((v) => v !== undefined);
    if (missing.length > 0) return `${missing.join(', ')} not set: ${REMEDY}`;
    const why = errorMessage(error);
    const ownAudience = this.#audience === AZURE_CLOUDS[this.#cloud].audience;
    if (/AADSTS500011|invalid_resource/.test(why) || (why.includes('/oauth2/exchange') && !ownAudience))
      return `the audience ${this.#audience} is not the ACR audience of ${this.#cloud} (${AZURE_CLOUDS[this.#cloud].audience}): remove cloud.azure.audience or set cloud.azure.cloud to the registry's cloud (docs/cloud.md#azure)`;
    return REMEDY;
  }

  /**
   * Where the exchange goes: the registry's `address` over `insecure` HTTP or HTTPS with its `ca`, TLS
   * naming the registry; without settings, the registry itself (a loopback one over plain HTTP).
   */
  #registryRoute(registry: string): { base: string; dispatcher?: Dispatcher } {
    const ep = this.#options.endpoints?.(registry);
    const target = ep?.address ?? registry;
    if (ep === undefined || (ep.address === undefined && (ep.ca ?? []).length === 0 && ep.insecure !== true))
      return { base: LOOPBACK_HOST.test(registry) ? `http://${registry}` : `https://${registry}` };
    if (ep.insecure === true) return { base: `http://${target}` };
    let agent = this.#registryAgents.get(registry);
    if (agent === undefined) {
      const ca = ep.ca ?? [];
      agent = new Agent({
        connections: 2,
        connect: {
          timeout: this.#timeoutMs,
          ...(ca.length > 0 ? { ca: [...rootCertificates, ...ca] } : {}),
          ...(ep.address !== undefined ? { servername: new URL(`https://${registry}`).hostname } : {}),
        },
      });
      if (this.#registryAgents.size >= MAX_REGISTRY_AGENTS) {
        const [oldestKey, oldest] = this.#registryAgents.entries().next().value ?? [];
        if (oldestKey !== undefined) this.#registryAgents.delete(oldestKey);
        void oldest?.close();
      }
      this.#registryAgents.set(registry, agent);
    }
    return { base: `https://${target}`, dispatcher: agent };
  }

  #http(signal: AbortSignal): CloudHttp {
    this.#dispatcher ??= new Agent({ connections: 8, connect: { timeout: this.#timeoutMs } });
    return { dispatcher: this.#dispatcher, signal, timeoutMs: this.#timeoutMs };
  }

  #entraToken(signal: AbortSignal): ReturnType<typeof entraToken> {
    const o = this.#options;
    if (o.clientId === undefined || o.tenantId === undefined || o.federatedTokenFile === undefined)
      return Promise.reject(unavailable('Azure workload identity is not configured in the environment'));
    return entraToken(
      this.#http(signal),
      {
        clientId: o.clientId,
        tenantId: o.tenantId,
        federatedTokenFile: o.federatedTokenFile,
        authorityHost: this.#authorityHost,
        audience: this.#audience,
      },
      this.#now(),
    );
  }
}

const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : v);

/**
 * The `cloud.azure` block with the process environment. Enabled by default when the AKS workload
 * identity webhook has injected its three variables; `enabled: true` without them makes every ACR
 * pull CREDENTIALS_UNAVAILABLE naming the missing variables (never a silent anonymous pull).
 */
export function azureSourceFrom(
  block: AzureCloudConfig | undefined,
  env: CloudEnv,
  endpoints?: RegistryEndpoints,
): AzureTokenSource | undefined {
  const clientId = nonEmpty(env.AZURE_CLIENT_ID);
  const tenantId = nonEmpty(env.AZURE_TENANT_ID);
  const federatedTokenFile = nonEmpty(env.AZURE_FEDERATED_TOKEN_FILE);
  const injected = clientId !== undefined && tenantId !== undefined && federatedTokenFile !== undefined;
  if (!(block?.enabled ?? injected)) return undefined;
  return new AzureTokenSource({
    clientId,
    tenantId,
    federatedTokenFile,
    authorityHost: block?.authorityHost ?? nonEmpty(env.AZURE_AUTHORITY_HOST),
    cloud: block?.cloud,
    audience: block?.audience,
    hosts: block?.hosts,
    registries: block?.registries,
    endpoints,
  });
}
