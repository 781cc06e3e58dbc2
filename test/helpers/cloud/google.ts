/**
 * Google stand-ins on one loopback server, speaking the documented HTTP APIs: the GCE/GKE metadata
 * server (`/computeMetadata/v1/instance/service-accounts/default/{token,email}`, `Metadata-Flavor:
 * Google` required), Google STS (`POST /v1/token`, token exchange for workload identity federation),
 * IAM credentials (`POST /v1/projects/-/serviceAccounts/EMAIL:generateAccessToken`) and the OAuth2
 * token endpoint (`POST /token`, JWT bearer grant of a service account key). Every access token it
 * issues is remembered with its principal and expiry; `verifyRegistryLogin` is what Artifact
 * Registry's token service does with `oauth2accesstoken:<token>`.
 */
import { randomBytes } from 'node:crypto';
import { jwtIssuer, verifyJwt, type JwtIssuer } from './jwt.js';
import { json, oauthError, startStandIn, type StandIn } from './http.js';

const SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
const MD = '/computeMetadata/v1/instance/service-accounts/default';
const IMPERSONATE = /^\/v1\/projects\/-\/serviceAccounts\/([^/:]+):generateAccessToken$/;

export interface GoogleStandIn {
  server: StandIn;
  /** Signs the cluster's projected service account tokens (the pool provider trusts it). */
  cluster: JwtIssuer;
  /** The pool provider's audience (`//iam.googleapis.com/projects/…/providers/…`). */
  poolAudience: string;
  /** The metadata server's default service account. */
  metadataEmail: string;
  /** A service_account key file's JSON (its public key registered here), token_uri this server. */
  serviceAccountKey: Record<string, string>;
  /** Google service account → principals allowed to impersonate it (roles/iam.workloadIdentityUser). */
  impersonators: Map<string, Set<string>>;
  /** Principals with roles/artifactregistry.reader. */
  readers: Set<string>;
  /** Lifetime of new access tokens, seconds. */
  tokenTtlS: number;
  /** Live access tokens → principal and expiry (epoch ms). */
  tokens: Map<string, { principal: string; expiresAt: number }>;
  /** The principal a KSA token's subject becomes after STS. */
  principalOf(subject: string): string;
  verifyRegistryLogin(user: string, password: string): string | false;
  stop(): Promise<void>;
}

export async function startGoogleStandIn(): Promise<GoogleStandIn> {
  const cluster = jwtIssuer('https://container.googleapis.com/v1/projects/p/locations/l/clusters/c');
  const keyHolder = jwtIssuer('unused');
  const pool = 'projects/123/locations/global/workloadIdentityPools/pool';
  const g = {
    cluster,
    poolAudience: `//iam.googleapis.com/${pool}/providers/k8s`,
    metadataEmail: 'node-sa@proj.iam.gserviceaccount.com',
    impersonators: new Map<string, Set<string>>(),
    readers: new Set<string>(),
    tokenTtlS: 3600,
    tokens: new Map<string, { principal: string; expiresAt: number }>(),
    principalOf: (subject: string) => `principal://iam.googleapis.com/${pool}/subject/${subject}`,
  } as GoogleStandIn;
  const saEmail = 'key-sa@proj.iam.gserviceaccount.com';

  const issue = (principal: string): { token: string; expiresIn: number } => {
    const token = `ya29.${randomBytes(24).toString('base64url')}`;
    g.tokens.set(token, { principal, expiresAt: Date.now() + g.tokenTtlS * 1000 });
    return { token, expiresIn: g.tokenTtlS };
  };
  const live = (token: string | undefined): string | undefined => {
    const t = token === undefined ? undefined : g.tokens.get(token);
    return t !== undefined && t.expiresAt > Date.now() ? t.principal : undefined;
  };

  g.server = await startStandIn((req, body, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname.startsWith('/computeMetadata/')) {
      if (req.headers['metadata-flavor'] !== 'Google')
        return json(res, 403, 'Missing Metadata-Flavor:Google header');
      if (url.pathname === `${MD}/token`) {
        const t = issue(g.metadataEmail);
        return json(res, 200, { access_token: t.token, expires_in: t.expiresIn, token_type: 'Bearer' });
      }
      if (url.pathname === `${MD}/email`) {
        if (url.searchParams.get('alt') === 'json') return json(res, 200, g.metadataEmail);
        return void res.writeHead(200, { 'content-type': 'text/plain' }).end(g.metadataEmail);
      }
      return json(res, 404, 'not found');
    }
    const form = new URLSearchParams(body);
    if (req.method === 'POST' && url.pathname === '/v1/token') {
      if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:token-exchange')
        return oauthError(res, 400, 'unsupported_grant_type', 'grant_type');
      if (form.get('audience') !== g.poolAudience)
        return oauthError(
          res,
          400,
          'invalid_target',
          'The target service indicated by the "audience" parameters is invalid.',
        );
      if (form.get('subject_token_type') !== 'urn:ietf:params:oauth:token-type:jwt')
        return oauthError(res, 400, 'invalid_request', 'subject_token_type');
      const claims = cluster.verify(form.get('subject_token') ?? '');
      if (typeof claims === 'string') return oauthError(res, 400, 'invalid_grant', `ID Token: ${claims}`);
      if (claims.aud !== g.poolAudience)
        return oauthError(
          res,
          400,
          'invalid_grant',
          'The audience in ID Token does not match the expected audience.',
        );
      const t = issue(g.principalOf(String(claims.sub)));
      return json(res, 200, {
        access_token: t.token,
        issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        token_type: 'Bearer',
        expires_in: t.expiresIn,
      });
    }
    const imp = IMPERSONATE.exec(url.pathname);
    if (req.method === 'POST' && imp !== null) {
      const email = decodeURIComponent(imp[1]!);
      const caller = live(req.headers.authorization?.replace(/^Bearer /, ''));
      if (caller === undefined)
        return json(res, 401, {
          error: { code: 401, message: 'Request had invalid authentication credentials.' },
        });
      if (!g.impersonators.get(email)?.has(caller))
        return json(res, 403, {
          error: {
            code: 403,
            message: `Permission 'iam.serviceAccounts.getAccessToken' denied on resource ${email}`,
          },
        });
      const req2 = JSON.parse(body) as { scope?: string[]; lifetime?: string };
      if (!req2.scope?.includes(SCOPE)) return json(res, 400, { error: { code: 400, message: 'scope' } });
      const t = issue(email);
      return json(res, 200, {
        accessToken: t.token,
        expireTime: new Date(Date.now() + t.expiresIn * 1000).toISOString(),
      });
    }
    if (req.method === 'POST' && url.pathname === '/token') {
      if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer')
        return oauthError(res, 400, 'unsupported_grant_type', 'grant_type');
      const claims = verifyJwt(form.get('assertion') ?? '', keyHolder.publicKey, saEmail);
      if (typeof claims === 'string') return oauthError(res, 400, 'invalid_grant', `Invalid JWT: ${claims}`);
      if (claims.aud !== `${g.server.url}/token`)
        return oauthError(res, 400, 'invalid_grant', 'Invalid JWT: aud');
      if (typeof claims.scope !== 'string' || !claims.scope.split(' ').includes(SCOPE))
        return oauthError(res, 400, 'invalid_scope', 'scope');
      if (Number(claims.exp) - Number(claims.iat) > 3600)
        return oauthError(
          res,
          400,
          'invalid_grant',
          'Invalid JWT: Token must be a short-lived token (60 minutes)',
        );
      const t = issue(saEmail);
      return json(res, 200, { access_token: t.token, expires_in: t.expiresIn, token_type: 'Bearer' });
    }
    return json(res, 404, { error: 'not found' });
  });

  g.serviceAccountKey = {
    type: 'service_account',
    project_id: 'proj',
    private_key_id: 'k1',
    private_key: keyHolder.privateKeyPem,
    client_email: saEmail,
    token_uri: `${g.server.url}/token`,
  };
  g.verifyRegistryLogin = (user, password) => {
    if (user !== 'oauth2accesstoken') return false;
    const who = live(password);
    return who !== undefined && g.readers.has(who) ? who : false;
  };
  g.stop = () => g.server.stop();
  return g;
}

/** An external_account credential configuration as `gcloud iam workload-identity-pools create-cred-config` writes it. */
export function externalAccountFile(
  g: GoogleStandIn,
  subjectTokenFile: string,
  impersonate?: string,
): Record<string, unknown> {
  return {
    type: 'external_account',
    audience: g.poolAudience,
    subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    token_url: `${g.server.url}/v1/token`,
    credential_source: { file: subjectTokenFile, format: { type: 'text' } },
    ...(impersonate !== undefined
      ? {
          service_account_impersonation_url: `${g.server.url}/v1/projects/-/serviceAccounts/${impersonate}:generateAccessToken`,
        }
      : {}),
  };
}
