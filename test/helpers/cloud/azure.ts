/**
 * Azure stand-ins: the Entra ID token endpoint (`POST /{tenant}/oauth2/v2.0/token`, client credentials
 * with a federated client assertion, refusing resources it does not know as Entra does with
 * AADSTS500011) and an ACR front in front of the real registry: `/oauth2/exchange` (Entra access
 * token → ACR refresh token; a token for another audience, e.g. ARM, is refused as an ACR with
 * authentication-as-ARM disabled does), `/oauth2/token` (refresh token → registry access token, by
 * the test token server) and every `/v2/` request proxied to the registry.
 */
import { request } from 'node:http';
import { jwtIssuer, type JwtIssuer } from './jwt.js';
import { json, oauthError, startStandIn, type StandIn } from './http.js';

export const ARM_AUDIENCE = 'https://management.azure.com';
export const FEDERATION_AUDIENCE = 'api://AzureADTokenExchange';

export interface EntraStandIn {
  server: StandIn;
  /** Signs the cluster's projected tokens (the federated credential trusts this issuer). */
  cluster: JwtIssuer;
  /** Signs the access tokens Entra issues (ACR trusts it). */
  entraKeys: JwtIssuer;
  tenantId: string;
  clientId: string;
  /** The federated credential's subject. */
  subject: string;
  /** Resources this cloud's Entra knows (its ACR audience and ARM). */
  resources: Set<string>;
  tokenTtlS: number;
  stop(): Promise<void>;
}

export async function startEntraStandIn(
  acrAudience = 'https://containerregistry.azure.net',
): Promise<EntraStandIn> {
  const e = {
    cluster: jwtIssuer('https://oidc.prod-aks.azure.com/tenant/issuer/'),
    entraKeys: jwtIssuer('https://sts.windows.net/tenant/'),
    tenantId: '72f988bf-0000-4000-8000-000000000001',
    clientId: '11111111-2222-4333-8444-555555555555',
    subject: 'system:serviceaccount:imagegate:imagegate',
    resources: new Set([acrAudience, ARM_AUDIENCE]),
    tokenTtlS: 3600,
  } as EntraStandIn;
  e.server = await startStandIn((req, body, res) => {
    const m = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(req.url ?? '');
    if (req.method !== 'POST' || m === null) return json(res, 404, { error: 'not_found' });
    if (decodeURIComponent(m[1]!) !== e.tenantId)
      return oauthError(res, 400, 'invalid_request', `AADSTS90002: Tenant '${m[1]}' not found.`);
    const form = new URLSearchParams(body);
    if (form.get('grant_type') !== 'client_credentials')
      return oauthError(res, 400, 'unsupported_grant_type', 'AADSTS70003');
    if (form.get('client_id') !== e.clientId)
      return oauthError(
        res,
        400,
        'unauthorized_client',
        `AADSTS700016: Application '${form.get('client_id')}' not found`,
      );
    if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
      return oauthError(res, 400, 'invalid_request', 'client_assertion_type');
    const claims = e.cluster.verify(form.get('client_assertion') ?? '');
    if (typeof claims === 'string') return oauthError(res, 400, 'invalid_client', `AADSTS700024: ${claims}`);
    if (claims.aud !== FEDERATION_AUDIENCE || claims.sub !== e.subject)
      return oauthError(
        res,
        400,
        'invalid_client',
        'AADSTS70021: No matching federated identity record found for presented assertion.',
      );
    const scope = form.get('scope') ?? '';
    const resource = scope.replace(/\/\.default$/, '');
    if (!scope.endsWith('/.default') || !e.resources.has(resource))
      return oauthError(
        res,
        400,
        'invalid_resource',
        `AADSTS500011: The resource principal named ${resource} was not found in the tenant.`,
      );
    const token = e.entraKeys.sign(
      { aud: resource, tid: e.tenantId, appid: e.clientId, oid: `oid-${e.clientId}` },
      e.tokenTtlS,
    );
    return json(res, 200, {
      token_type: 'Bearer',
      expires_in: e.tokenTtlS,
      ext_expires_in: e.tokenTtlS,
      access_token: token,
    });
  });
  e.stop = () => e.server.stop();
  return e;
}

export interface AcrFront {
  server: StandIn;
  /** `/oauth2/token` realm to configure the registry with. */
  realm: string;
  /** App ids with AcrPull. */
  acrPull: Set<string>;
  /** Lifetime of new refresh tokens, seconds. */
  refreshTtlS: number;
  /** Entra → ACR audience this registry accepts. */
  audience: string;
  /** The clock refresh tokens are dated by (a test's fake clock); default the real one. */
  now: () => number;
  /** The registry name the exchange's `service` must be; default the front's own host. */
  service?: string;
  stop(): Promise<void>;
}

/**
 * The ACR front; `connect` afterwards names the registry to proxy to and the token server that turns
 * refresh tokens (put into `refreshTokens`, which that token server reads) into registry tokens.
 */
export async function startAcrFront(
  entra: EntraStandIn,
  refreshTokens: Record<string, string>,
  audience = 'https://containerregistry.azure.net',
): Promise<AcrFront & { connect(registryHost: string, tokenRealm: string): void }> {
  const acrKeys = jwtIssuer('acr-front');
  let upstream = '';
  let tokenRealm = '';
  const f = { acrPull: new Set<string>(), refreshTtlS: 3 * 3600, audience, now: Date.now } as AcrFront & {
    connect(registryHost: string, tokenRealm: string): void;
  };
  f.server = await startStandIn(async (req, body, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const form = new URLSearchParams(body);
    if (req.method === 'POST' && path === '/oauth2/exchange') {
      if (form.get('grant_type') !== 'access_token')
        return oauthError(res, 400, 'unsupported_grant_type', 'grant_type');
      if (form.get('service') !== (f.service ?? f.server.host))
        return oauthError(res, 400, 'invalid_request', 'service');
      const claims = entra.entraKeys.verify(form.get('access_token') ?? '');
      if (typeof claims === 'string') return oauthError(res, 401, 'invalid_token', `aad token: ${claims}`);
      if (claims.aud !== f.audience)
        return oauthError(
          res,
          401,
          'invalid_token',
          `aad token audience ${String(claims.aud)} is not accepted (authentication-as-arm is disabled)`,
        );
      if (claims.tid !== form.get('tenant')) return oauthError(res, 401, 'invalid_token', 'tenant');
      if (!f.acrPull.has(String(claims.appid)))
        return oauthError(res, 401, 'unauthorized', 'no AcrPull role assignment');
      const refresh = acrKeys.sign(
        { aud: f.server.host, grant_type: 'refresh_token', tenant: claims.tid },
        f.refreshTtlS,
        f.now(),
      );
      refreshTokens[refresh] = String(claims.appid);
      return json(res, 200, { refresh_token: refresh });
    }
    if (req.method === 'POST' && path === '/oauth2/token') {
      const claims = acrKeys.verify(form.get('refresh_token') ?? '');
      if (typeof claims === 'string')
        return oauthError(res, 401, 'invalid_grant', `refresh token: ${claims}`);
      const answer = await fetch(tokenRealm, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(await answer.text());
      return;
    }
    // everything else is the registry's
    await new Promise<void>((resolve) => {
      const up = request(
        `http://${upstream}${req.url ?? '/'}`,
        { method: req.method, headers: { ...req.headers, host: upstream } },
        (r) => {
          const headers = { ...r.headers };
          res.writeHead(r.statusCode ?? 502, headers);
          r.pipe(res).on('finish', resolve);
        },
      );
      up.on('error', () => {
        json(res, 502, { error: 'upstream' });
        resolve();
      });
      up.end(body);
    });
  });
  f.realm = `${f.server.url}/oauth2/token`;
  f.connect = (registryHost, realm) => {
    upstream = registryHost;
    tokenRealm = realm;
  };
  f.stop = () => f.server.stop();
  return f;
}
