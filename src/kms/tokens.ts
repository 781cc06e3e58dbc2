/**
 * Access tokens for the key services that want one. Google (Cloud KMS) and Azure (Key Vault) tokens
 * come from the registry's cloud token machinery (src/registry/credentials/cloud): the same
 * identities read the same way (metadata server, `external_account` and `service_account` files;
 * Azure workload identity), through a `CloudTokenCache` (refresh ahead of expiry, one fetch shared,
 * backoff, bounded stale-on-error), with the same CREDENTIALS_UNAVAILABLE messages naming the
 * identity and the fix, and the same fetch metrics under their own provider names (`gcp-kms`,
 * `azure-keyvault`). The cache is this reader's own, not the registry chain's: Key Vault wants a
 * token for the vault's audience, never ACR's, and a Google token fetched here is keyed apart from
 * the registries' so their status and backoff stay separate. Vault's token (not a cloud identity)
 * stays a `CachedToken`.
 */
import { Agent, type Dispatcher } from 'undici';
import { errorMessage } from '../errors.js';
import {
  AZURE_CLOUDS,
  CloudTokenCache,
  GoogleTokenSource,
  entraToken,
  unavailable,
  type CloudProviderStatus,
  type CloudTokenHooks,
  type CloudTokenSource,
} from '../registry/credentials/cloud/index.js';
import { untilAborted } from './abortable.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** A bearer token a key service call sends; concurrent callers share one fetch. */
export interface BearerToken {
  get(signal: AbortSignal): Promise<string>;
}

interface Token {
  value: string;
  expiresAt: number;
}

const EARLY_MS = 60_000;
/** A shared token fetch (it may serve several reviews) gives up after this. */
const TOKEN_TIMEOUT_MS = 10_000;
/** Per HTTP call to a token endpoint. */
const CALL_TIMEOUT_MS = 5000;

/** One token, refreshed ahead of expiry; concurrent callers share one fetch (Vault's login). */
export class CachedToken implements BearerToken {
  #token: Token | undefined;
  #inflight: Promise<Token> | undefined;

  constructor(
    private readonly fetchToken: (signal: AbortSignal) => Promise<Token>,
    private readonly now: () => number = Date.now,
  ) {}

  async get(signal: AbortSignal): Promise<string> {
    const t = this.#token;
    if (t !== undefined && t.expiresAt - EARLY_MS > this.now()) return t.value;
    this.#inflight ??= this.fetchToken(AbortSignal.timeout(TOKEN_TIMEOUT_MS))
      .then((fresh) => (this.#token = fresh))
      .finally(() => (this.#inflight = undefined));
    return (await untilAborted(this.#inflight, signal)).value;
  }
}

/** The audience of a Key Vault token (scope: its `/.default`): the vault's cloud, by its DNS suffix (public, China, US Gov, managed HSM). */
export function keyVaultAudience(vaultHost: string): string {
  const host = vaultHost.replace(/:\d+$/, '');
  const suffixes: [string, string][] = [
    ['.vault.azure.cn', 'https://vault.azure.cn'],
    ['.vault.usgovcloudapi.net', 'https://vault.usgovcloudapi.net'],
    ['.vault.microsoftazure.de', 'https://vault.microsoftazure.de'],
    ['.managedhsm.azure.net', 'https://managedhsm.azure.net'],
  ];
  return suffixes.find(([s]) => host.endsWith(s))?.[1] ?? 'https://vault.azure.net';
}

/** The Entra authority of the vault's cloud, when AZURE_AUTHORITY_HOST does not say. */
function authorityFor(audience: string): string {
  if (audience === 'https://vault.azure.cn') return AZURE_CLOUDS.AzureChinaCloud.authorityHost;
  if (audience === 'https://vault.usgovcloudapi.net') return AZURE_CLOUDS.AzureUSGovernment.authorityHost;
  return AZURE_CLOUDS.AzurePublicCloud.authorityHost;
}

const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : v);

const AZURE_REMEDY =
  "label imagegate's pods azure.workload.identity/use=true and annotate its ServiceAccount with " +
  'azure.workload.identity/client-id (chart value cloudIdentity.azure.clientId), add a federated credential ' +
  'for its service account to that identity, and grant it keys get and list on the vault (Key Vault Crypto ' +
  'User, or an access policy with Get, List) (docs/cloud.md#keys-held-in-a-kms)';

/** Key Vault by Azure workload identity: the projected token → an Entra token for the vault's audience. */
function keyVaultSource(
  env: Env,
  audience: string,
  http: (signal: AbortSignal) => { dispatcher: Dispatcher; signal: AbortSignal; timeoutMs: number },
  now: () => number,
): CloudTokenSource<string> {
  const clientId = nonEmpty(env.AZURE_CLIENT_ID);
  const tenantId = nonEmpty(env.AZURE_TENANT_ID);
  const federatedTokenFile = nonEmpty(env.AZURE_FEDERATED_TOKEN_FILE);
  const authorityHost = nonEmpty(env.AZURE_AUTHORITY_HOST) ?? authorityFor(audience);
  const missing = [
    clientId === undefined ? 'AZURE_CLIENT_ID' : undefined,
    tenantId === undefined ? 'AZURE_TENANT_ID' : undefined,
    federatedTokenFile === undefined ? 'AZURE_FEDERATED_TOKEN_FILE' : undefined,
  ].filter((v) => v !== undefined);
  return {
    name: 'azure-keyvault',
    matches: () => true,
    identity: () =>
      `client ${clientId ?? '(AZURE_CLIENT_ID unset)'} in tenant ${tenantId ?? '(AZURE_TENANT_ID unset)'} (audience ${audience})`,
    async fetch(_audience, signal) {
      if (clientId === undefined || tenantId === undefined || federatedTokenFile === undefined)
        throw unavailable('Azure workload identity is not configured in the environment');
      const t = await entraToken(
        http(signal),
        { clientId, tenantId, federatedTokenFile, authorityHost, audience },
        now(),
      );
      return { credential: t.token, expiresAt: t.expiresAtMs };
    },
    remedy: (error) =>
      missing.length > 0
        ? `${missing.join(', ')} not set: ${AZURE_REMEDY}`
        : /AADSTS500011|invalid_resource|invalid_scope/.test(errorMessage(error))
          ? `Entra does not issue tokens for ${audience} to this identity: check the vault's cloud (AZURE_AUTHORITY_HOST) and ${AZURE_REMEDY}`
          : AZURE_REMEDY,
  };
}

export interface KmsTokenOptions {
  env: Env;
  /** For the token endpoints too (tests: one trusting their CA); default an Agent of its own. */
  dispatcher?: Dispatcher | undefined;
  hooks?: CloudTokenHooks | undefined;
  now?: () => number;
}

/** The cloud tokens one key reader uses: one Google identity, one Key Vault token per Azure audience. */
export class KmsCloudTokens {
  readonly #cache: CloudTokenCache;
  readonly #options: KmsTokenOptions;
  readonly #now: () => number;
  #google: CloudTokenSource<string> | undefined;
  readonly #azure = new Map<string, CloudTokenSource<string>>();
  #dispatcher: Dispatcher | undefined;

  constructor(options: KmsTokenOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#cache = new CloudTokenCache({
      ...(options.hooks !== undefined ? { hooks: options.hooks } : {}),
      now: this.#now,
    });
    this.#dispatcher = options.dispatcher;
  }

  /** Cloud KMS's token: the workload's Google identity, scope cloud-platform. */
  google(): BearerToken {
    if (this.#google === undefined) {
      const { env } = this.#options;
      const google = new GoogleTokenSource({
        credentialsFile: nonEmpty(env.GOOGLE_APPLICATION_CREDENTIALS),
        metadataHost: nonEmpty(env.GCE_METADATA_HOST),
        dispatcher: this.#agent(),
        now: this.#now,
        role: 'roles/cloudkms.viewer on the key (cloudkms.cryptoKeyVersions.list and .viewPublicKey)',
      });
      this.#google = {
        name: 'gcp-kms',
        matches: () => true,
        identity: () => google.identity(),
        async fetch(_registry, signal) {
          const t = await google.accessToken(signal);
          return { credential: t.token, expiresAt: t.expiresAtMs };
        },
        remedy: (error) => google.remedy(error),
      };
    }
    return this.#bearer(this.#google, 'cloudkms');
  }

  /** Key Vault's token for `vaultHost`'s cloud (its audience, never ACR's or ARM's). */
  azure(vaultHost: string): BearerToken {
    const audience = keyVaultAudience(vaultHost);
    let source = this.#azure.get(audience);
    if (source === undefined) {
      source = keyVaultSource(
        this.#options.env,
        audience,
        (signal) => ({ dispatcher: this.#agent(), signal, timeoutMs: CALL_TIMEOUT_MS }),
        this.#now,
      );
      this.#azure.set(audience, source);
    }
    return this.#bearer(source, audience);
  }

  /** Per provider used so far (`gcp-kms`, `azure-keyvault`): tokens held, their age, the last failure. */
  status(): CloudProviderStatus[] {
    const sources = [...(this.#google !== undefined ? [this.#google] : []), ...this.#azure.values()];
    return this.#cache.status(sources);
  }

  #bearer(source: CloudTokenSource<string>, key: string): BearerToken {
    return { get: (signal) => this.#cache.get(source, key, signal) };
  }

  #agent(): Dispatcher {
    // token calls only; a metadata server is link-local, never shared with key service calls
    this.#dispatcher ??= new Agent({ connections: 4, connect: { timeout: CALL_TIMEOUT_MS } });
    return this.#dispatcher;
  }
}
