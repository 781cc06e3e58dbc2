/**
 * Google access tokens, the three ways a workload holds a Google identity: the GKE/GCE metadata
 * server, a workload identity federation file (`external_account`: subject token → STS → optional
 * service account impersonation) and a service account key (signed JWT → OAuth2 token endpoint).
 * Plain HTTP calls on undici (oauth-http.ts): Google's SDK would bring a large dependency tree for
 * four requests, and its own metadata probing and token caching would duplicate ours.
 */
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { errorMessage } from '../../../../errors.js';
import { signRs256 } from '../jwt.js';
import {
  callJson,
  endpointUrl,
  expiryFrom,
  unavailable,
  type CloudHttp,
  type CloudToken,
} from '../oauth-http.js';
import { readTokenFile } from '../token-file.js';

export const GOOGLE_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
export const DEFAULT_METADATA_HOST = 'metadata.google.internal';
const DEFAULT_TOKEN_URI = 'https://oauth2.googleapis.com/token';

const AccessTokenAnswer = Type.Object({
  access_token: Type.String({ minLength: 1, maxLength: 8192 }),
  expires_in: Type.Optional(Type.Number()),
});
const accessTokenAnswer = TypeCompiler.Compile(AccessTokenAnswer);
const emailAnswer = TypeCompiler.Compile(Type.String({ minLength: 1, maxLength: 320 }));
const ImpersonationAnswer = Type.Object({
  accessToken: Type.String({ minLength: 1, maxLength: 8192 }),
  expireTime: Type.String({ maxLength: 64 }),
});
const impersonationAnswer = TypeCompiler.Compile(ImpersonationAnswer);

const SubjectFormat = Type.Object({
  type: Type.Optional(Type.Union([Type.Literal('text'), Type.Literal('json')])),
  subject_token_field_name: Type.Optional(Type.String({ minLength: 1 })),
});
const ExternalAccount = Type.Object({
  type: Type.Literal('external_account'),
  audience: Type.String({ minLength: 1 }),
  subject_token_type: Type.String({ minLength: 1 }),
  token_url: Type.Optional(Type.String({ minLength: 1 })),
  service_account_impersonation_url: Type.Optional(Type.String({ minLength: 1 })),
  service_account_impersonation: Type.Optional(
    Type.Object({ token_lifetime_seconds: Type.Optional(Type.Integer({ minimum: 600, maximum: 43200 })) }),
  ),
  credential_source: Type.Object({
    file: Type.Optional(Type.String({ minLength: 1 })),
    format: Type.Optional(SubjectFormat),
  }),
});
const ServiceAccountKey = Type.Object({
  type: Type.Literal('service_account'),
  client_email: Type.String({ minLength: 1 }),
  private_key: Type.String({ minLength: 1 }),
  private_key_id: Type.Optional(Type.String()),
  token_uri: Type.Optional(Type.String({ minLength: 1 })),
});
const GoogleCredentialsFile = Type.Union([ExternalAccount, ServiceAccountKey]);
const googleCredentialsFile = TypeCompiler.Compile(GoogleCredentialsFile);

export type ExternalAccount = Static<typeof ExternalAccount>;
export type ServiceAccountKey = Static<typeof ServiceAccountKey>;
export type GoogleCredentials = Static<typeof GoogleCredentialsFile>;

/** A Google endpoint named in a credentials file: `*.googleapis.com` over https (loopback for tests). */
function googleEndpoint(text: string, what: string): URL {
  const url = endpointUrl(text, what);
  const h = url.hostname;
  if (!(h.endsWith('.googleapis.com') || h === '127.0.0.1' || h === 'localhost' || h === '[::1]'))
    throw unavailable(`${what}: ${url.host} is not a Google endpoint (*.googleapis.com)`);
  return url;
}

/** The GOOGLE_APPLICATION_CREDENTIALS file: `external_account` or `service_account`, schema-checked. */
export async function loadGoogleCredentials(file: string): Promise<GoogleCredentials> {
  const text = await readTokenFile(file, 'GOOGLE_APPLICATION_CREDENTIALS');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw unavailable(`GOOGLE_APPLICATION_CREDENTIALS ${file} is not JSON: ${errorMessage(err)}`);
  }
  if (!googleCredentialsFile.Check(json)) {
    const type = (json as { type?: unknown } | null)?.type;
    throw unavailable(
      typeof type === 'string' && type !== 'external_account' && type !== 'service_account'
        ? `GOOGLE_APPLICATION_CREDENTIALS ${file} is of type "${type.slice(0, 40)}"; imagegate reads external_account and service_account`
        : `GOOGLE_APPLICATION_CREDENTIALS ${file} is not a complete external_account or service_account file`,
    );
  }
  return json;
}

/** Who a credentials file stands for, for messages and cache keys (never a secret). */
export function googleIdentity(creds: GoogleCredentials): string {
  if (creds.type === 'service_account') return creds.client_email;
  const sa = /serviceAccounts\/([^/:]+):generateAccessToken/.exec(
    creds.service_account_impersonation_url ?? '',
  );
  return sa?.[1] !== undefined ? decodeURIComponent(sa[1]) : creds.audience;
}

function metadataBase(host: string): string {
  return `http://${host.replace(/^https?:\/\//, '').replace(/\/+$/, '')}/computeMetadata/v1/instance/service-accounts/default`;
}

/** The metadata server's token for the node's (GKE: the Kubernetes service account's) Google identity. */
export async function metadataToken(http: CloudHttp, host: string, now: number): Promise<CloudToken> {
  const url = endpointUrl(`${metadataBase(host)}/token`, 'GCE metadata server', true);
  const a = await callJson(
    http,
    { method: 'GET', url, headers: { 'metadata-flavor': 'Google' } },
    accessTokenAnswer,
    `token from the metadata server ${url.host}`,
  );
  return { token: a.access_token, expiresAtMs: expiryFrom(now, a.expires_in) };
}

/** The email of the metadata server's default service account (what the token acts as). */
export async function metadataEmail(http: CloudHttp, host: string): Promise<string> {
  const url = endpointUrl(`${metadataBase(host)}/email?alt=json`, 'GCE metadata server', true);
  return callJson(
    http,
    { method: 'GET', url, headers: { 'metadata-flavor': 'Google' } },
    emailAnswer,
    `service account email from the metadata server ${url.host}`,
  );
}

/** A service account key: a JWT it signs, traded for an access token at its token URI. */
export async function serviceAccountToken(
  http: CloudHttp,
  key: ServiceAccountKey,
  now: number,
): Promise<CloudToken> {
  const url = googleEndpoint(key.token_uri ?? DEFAULT_TOKEN_URI, 'service account token_uri');
  const iat = Math.floor(now / 1000);
  let assertion: string;
  try {
    assertion = signRs256(
      key.private_key,
      { iss: key.client_email, scope: GOOGLE_SCOPE, aud: url.href, iat, exp: iat + 3600 },
      key.private_key_id,
    );
  } catch (err) {
    throw unavailable(
      `service account ${key.client_email}: cannot sign with its private_key (${errorMessage(err)})`,
    );
  }
  const a = await callJson(
    http,
    {
      method: 'POST',
      url,
      form: { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion },
    },
    accessTokenAnswer,
    `token for service account ${key.client_email} from ${url.host}`,
  );
  return { token: a.access_token, expiresAtMs: expiryFrom(now, a.expires_in) };
}

async function subjectToken(creds: ExternalAccount): Promise<string> {
  const src = creds.credential_source;
  // Kubernetes projects the service account token into a file; url, executable and aws sources are
  // for other platforms and are refused with a message rather than half supported
  if (src.file === undefined)
    throw unavailable(
      'external_account credential_source has no "file" (url, executable and aws sources are not read)',
    );
  const text = await readTokenFile(src.file, 'external_account subject token file');
  if (src.format?.type !== 'json') return text;
  const field = src.format.subject_token_field_name ?? 'access_token';
  let value: unknown;
  try {
    value = (JSON.parse(text) as Record<string, unknown>)[field];
  } catch {
    /* reported below */
  }
  if (typeof value !== 'string' || value === '')
    throw unavailable(`external_account subject token: no string field "${field}" in its JSON`);
  return value;
}

/** Workload identity federation: the subject token → Google STS → optionally an impersonated service account. */
export async function externalAccountToken(
  http: CloudHttp,
  creds: ExternalAccount,
  now: number,
): Promise<CloudToken> {
  const stsUrl = googleEndpoint(
    creds.token_url ?? 'https://sts.googleapis.com/v1/token',
    'external_account token_url',
  );
  const impersonate =
    creds.service_account_impersonation_url !== undefined
      ? googleEndpoint(creds.service_account_impersonation_url, 'service_account_impersonation_url')
      : undefined;
  const subject = await subjectToken(creds);
  const sts = await callJson(
    http,
    {
      method: 'POST',
      url: stsUrl,
      form: {
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        audience: creds.audience,
        scope: GOOGLE_SCOPE,
        requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        subject_token: subject,
        subject_token_type: creds.subject_token_type,
      },
    },
    accessTokenAnswer,
    `token exchange for ${creds.audience} at ${stsUrl.host}`,
  );
  if (impersonate === undefined)
    return { token: sts.access_token, expiresAtMs: expiryFrom(now, sts.expires_in) };
  const lifetime = creds.service_account_impersonation?.token_lifetime_seconds ?? 3600;
  const a = await callJson(
    http,
    {
      method: 'POST',
      url: impersonate,
      headers: { authorization: `Bearer ${sts.access_token}` },
      json: { scope: [GOOGLE_SCOPE], lifetime: `${lifetime}s` },
    },
    impersonationAnswer,
    `impersonation of ${googleIdentity(creds)} at ${impersonate.host}`,
  );
  return { token: a.accessToken, expiresAtMs: expiryFrom(now, a.expireTime, lifetime) };
}
