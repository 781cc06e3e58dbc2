/**
 * Azure Container Registry by workload identity: the projected federated token → an Entra token for
 * the ACR audience (not ARM: ACR can refuse ARM tokens, and least privilege asks for the registry's
 * own) → ACR's `/oauth2/exchange` → an ACR refresh token, which the registry's token flow then uses
 * as Docker's identity token. Plain HTTP on undici (oauth-http.ts): @azure/identity would bring MSAL
 * for two form posts.
 */
import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { jwtExpiryMs } from '../jwt.js';
import { callJson, endpointUrl, expiryFrom, type CloudHttp, type CloudToken } from '../oauth-http.js';
import { readTokenFile } from '../token-file.js';

/** The Azure clouds: where their Entra authority is, the ACR audience, and their registries' suffix. */
export const AZURE_CLOUDS = {
  AzurePublicCloud: {
    authorityHost: 'https://login.microsoftonline.com',
    audience: 'https://containerregistry.azure.net',
    registrySuffix: '.azurecr.io',
  },
  AzureChinaCloud: {
    authorityHost: 'https://login.chinacloudapi.cn',
    audience: 'https://containerregistry.azure.cn',
    registrySuffix: '.azurecr.cn',
  },
  AzureUSGovernment: {
    authorityHost: 'https://login.microsoftonline.us',
    audience: 'https://containerregistry.azure.us',
    registrySuffix: '.azurecr.us',
  },
} as const;
export type AzureCloudName = keyof typeof AZURE_CLOUDS;
export const AZURE_CLOUD_NAMES = Object.keys(AZURE_CLOUDS) as AzureCloudName[];

/** The cloud whose registries end in the host's suffix (port ignored), if any. */
export function azureCloudOfRegistry(registry: string): AzureCloudName | undefined {
  const host = registry.toLowerCase().replace(/:[0-9]+$/, '');
  return AZURE_CLOUD_NAMES.find((c) => {
    const suffix = AZURE_CLOUDS[c].registrySuffix;
    return host.endsWith(suffix) && host.length > suffix.length;
  });
}

/** The cloud an authority host belongs to (AZURE_AUTHORITY_HOST as the AKS webhook sets it). */
export function azureCloudOfAuthority(authorityHost: string): AzureCloudName | undefined {
  let host: string;
  try {
    host = new URL(authorityHost).hostname.toLowerCase();
  } catch {
    return undefined;
  }
  return AZURE_CLOUD_NAMES.find((c) => new URL(AZURE_CLOUDS[c].authorityHost).hostname === host);
}

/** Workload identity as the AKS webhook injects it (plus the audience the cloud's ACR expects). */
export interface AzureWorkloadIdentity {
  clientId: string;
  tenantId: string;
  federatedTokenFile: string;
  authorityHost: string;
  /** e.g. `https://containerregistry.azure.net`; the scope asked for is `${audience}/.default`. */
  audience: string;
}

const EntraAnswer = Type.Object({
  access_token: Type.String({ minLength: 1, maxLength: 16_384 }),
  expires_in: Type.Optional(Type.Union([Type.Number(), Type.String({ maxLength: 20 })])),
});
const entraAnswer = TypeCompiler.Compile(EntraAnswer);
const exchangeAnswer = TypeCompiler.Compile(
  Type.Object({ refresh_token: Type.String({ minLength: 1, maxLength: 16_384 }) }),
);

/** The federated token (re-read each time: the kubelet rotates it) → an Entra access token for ACR. */
export async function entraToken(
  http: CloudHttp,
  id: AzureWorkloadIdentity,
  now: number,
): Promise<CloudToken> {
  const base = endpointUrl(id.authorityHost, 'Azure authority host');
  const url = new URL(
    `${encodeURIComponent(id.tenantId)}/oauth2/v2.0/token`,
    `${base.origin}${base.pathname.replace(/\/*$/, '/')}`,
  );
  const assertion = await readTokenFile(id.federatedTokenFile, 'AZURE_FEDERATED_TOKEN_FILE');
  const a = await callJson(
    http,
    {
      method: 'POST',
      url,
      form: {
        client_id: id.clientId,
        scope: `${id.audience.replace(/\/+$/, '')}/.default`,
        grant_type: 'client_credentials',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: assertion,
      },
    },
    entraAnswer,
    `Entra token from ${url.host}`,
  );
  return { token: a.access_token, expiresAtMs: expiryFrom(now, a.expires_in) };
}

/**
 * An Entra token → the registry's refresh token (`/oauth2/exchange` on the registry itself). It lives
 * about three hours (its `exp`); without one the Entra token's expiry bounds it.
 */
export async function acrRefreshToken(
  http: CloudHttp,
  registryBaseUrl: string,
  registry: string,
  tenantId: string,
  entra: CloudToken,
  now: number,
  /** `registries.<host>.insecure`: the operator's plain-HTTP registry (else https, or loopback). */
  insecure = false,
): Promise<CloudToken> {
  const url = new URL('/oauth2/exchange', endpointUrl(registryBaseUrl, `registry ${registry}`, insecure));
  const a = await callJson(
    http,
    {
      method: 'POST',
      url,
      form: { grant_type: 'access_token', service: registry, tenant: tenantId, access_token: entra.token },
    },
    exchangeAnswer,
    `ACR refresh token from ${url.host}/oauth2/exchange`,
  );
  const exp = jwtExpiryMs(a.refresh_token);
  return {
    token: a.refresh_token,
    expiresAtMs: exp !== undefined && exp > now ? exp : entra.expiresAtMs,
  };
}
