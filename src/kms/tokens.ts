/**
 * Access tokens for the key services that want one: Google (the GKE/GCE metadata server, which is
 * what GKE workload identity serves) and Azure (workload identity: the projected service account
 * token exchanged at Entra for a Key Vault token). Each is cached until a minute before it expires
 * and fetched once for concurrent callers.
 */
import { readFile } from 'node:fs/promises';
import type { Dispatcher } from 'undici';
import { errorMessage } from '../errors.js';
import { untilAborted } from './abortable.js';
import { getJsonObject } from './http.js';

export type Env = Readonly<Record<string, string | undefined>>;

interface Token {
  value: string;
  expiresAt: number;
}

const EARLY_MS = 60_000;
/** A shared token fetch (it may serve several reviews) gives up after this. */
const TOKEN_TIMEOUT_MS = 10_000;
/** Tokens without a stated lifetime are kept this long. */
const DEFAULT_LIFETIME_S = 300;

/** One token, refreshed ahead of expiry; concurrent callers share one fetch. */
export class CachedToken {
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

function tokenFrom(answer: Record<string, unknown>, field: string, now: number, source: string): Token {
  const value = answer[field];
  if (typeof value !== 'string' || value === '') throw new Error(`${source} answered without ${field}`);
  const lifetime = Number(answer.expires_in ?? DEFAULT_LIFETIME_S);
  const seconds = Number.isFinite(lifetime) && lifetime > 0 ? lifetime : DEFAULT_LIFETIME_S;
  return { value, expiresAt: now + seconds * 1000 };
}

/** GCE_METADATA_HOST (as Google's libraries honour it), else the link-local metadata address. */
export function googleToken(
  env: Env,
  dispatcher: Dispatcher | undefined,
  now: () => number = Date.now,
): CachedToken {
  const host = env.GCE_METADATA_HOST ?? '169.254.169.254';
  const url = new URL(`http://${host}/computeMetadata/v1/instance/service-accounts/default/token`);
  return new CachedToken(async (signal) => {
    try {
      const answer = await getJsonObject(url, {
        headers: { 'metadata-flavor': 'Google' },
        signal,
        ...(dispatcher !== undefined ? { dispatcher } : {}),
      });
      return tokenFrom(answer, 'access_token', now(), 'the metadata server');
    } catch (err) {
      throw new Error(
        `no Google access token from the metadata server at ${host} (on GKE, enable workload identity for imagegate's service account): ${errorMessage(err)}`,
      );
    }
  }, now);
}

/** The scope of a Key Vault token: the vault's cloud, by its DNS suffix (public, China, US Gov, managed HSM). */
export function keyVaultScope(vaultHost: string): string {
  const host = vaultHost.replace(/:\d+$/, '');
  const suffixes: [string, string][] = [
    ['.vault.azure.cn', 'https://vault.azure.cn/.default'],
    ['.vault.usgovcloudapi.net', 'https://vault.usgovcloudapi.net/.default'],
    ['.vault.microsoftazure.de', 'https://vault.microsoftazure.de/.default'],
    ['.managedhsm.azure.net', 'https://managedhsm.azure.net/.default'],
  ];
  return suffixes.find(([s]) => host.endsWith(s))?.[1] ?? 'https://vault.azure.net/.default';
}

/**
 * Azure workload identity: AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE and
 * AZURE_AUTHORITY_HOST (the webhook the AKS workload identity add-on runs sets them all).
 */
export function azureToken(
  env: Env,
  scope: string,
  dispatcher: Dispatcher | undefined,
  now: () => number = Date.now,
): CachedToken {
  return new CachedToken(async (signal) => {
    const { AZURE_CLIENT_ID: client, AZURE_TENANT_ID: tenant, AZURE_FEDERATED_TOKEN_FILE: file } = env;
    if (client === undefined || tenant === undefined || file === undefined) {
      throw new Error(
        'no Azure workload identity: AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE must be set (label the pod azure.workload.identity/use: "true")',
      );
    }
    const authority = (env.AZURE_AUTHORITY_HOST ?? 'https://login.microsoftonline.com/').replace(/\/?$/, '/');
    const url = new URL(`${encodeURIComponent(tenant)}/oauth2/v2.0/token`, authority);
    try {
      const assertion = (await readFile(file, 'utf8')).trim();
      const body = new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: client,
        scope,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: assertion,
      }).toString();
      const answer = await getJsonObject(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
        signal,
        ...(dispatcher !== undefined ? { dispatcher } : {}),
      });
      return tokenFrom(answer, 'access_token', now(), 'Entra ID');
    } catch (err) {
      throw new Error(
        `no Azure token for ${scope} (client ${client}, tenant ${tenant}): ${errorMessage(err)}`,
      );
    }
  }, now);
}
