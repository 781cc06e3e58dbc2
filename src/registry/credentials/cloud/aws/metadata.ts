/**
 * The node-local credential endpoints of an AWS pod without IRSA: the EKS Pod Identity agent
 * (`AWS_CONTAINER_CREDENTIALS_FULL_URI` with its token) and the instance role through IMDSv2. The
 * SDK's providers for them (fromHttp, fromInstanceMetadata) take no abort signal and keep their own
 * 5 s timeouts (fromHttp also sleeps that long between attempts), so a hung agent held its socket
 * past the review's deadline. These make the same calls on undici, each cut by the signal of the
 * fetch asking (the review's deadline, carried by AsyncLocalStorage: identity.ts's `callSignal`) or
 * by the per-call timeout, whichever is first; answers are capped and checked against a schema.
 */
import { readFile } from 'node:fs/promises';
import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Agent, type Dispatcher } from 'undici';
import { errorMessage, RegistryError } from '../../../../errors.js';
import { discard, readBody, send } from '../../../http.js';
import { callJson, MAX_TOKEN_ANSWER_BYTES, unavailable, type CloudHttp } from '../oauth-http.js';

/** What the SDK's credential providers resolve to (the ECR client signs with it). */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

/** Where the calls connect from and what cuts them. */
export class MetadataHttp {
  #dispatcher: Dispatcher | undefined;

  constructor(
    readonly timeoutMs: number,
    /** The signal of the fetch asking now, if any (identity.ts: callSignal). */
    private readonly callSignal: () => AbortSignal | undefined = () => undefined,
  ) {}

  /** One call's transport: its own connections (link-local agents, never a registry's pool). */
  http(): CloudHttp {
    this.#dispatcher ??= new Agent({ connections: 2, connect: { timeout: this.timeoutMs } });
    const signal = this.callSignal() ?? new AbortController().signal;
    return { dispatcher: this.#dispatcher, signal, timeoutMs: this.timeoutMs };
  }

  close(): void {
    void this.#dispatcher?.destroy().catch(() => undefined);
    this.#dispatcher = undefined;
  }
}

const CredentialsAnswer = TypeCompiler.Compile(
  Type.Object({
    AccessKeyId: Type.String({ minLength: 1 }),
    SecretAccessKey: Type.String({ minLength: 1 }),
    Token: Type.String({ minLength: 1 }),
    Expiration: Type.String({ minLength: 1 }),
    Code: Type.Optional(Type.String()),
  }),
);

function credentialsOf(
  answer: { AccessKeyId: string; SecretAccessKey: string; Token: string; Expiration: string },
  what: string,
): AwsCredentials {
  const expiration = new Date(answer.Expiration);
  if (Number.isNaN(expiration.getTime()))
    throw unavailable(`${what}: Expiration "${answer.Expiration.slice(0, 40)}" is not a time`);
  return {
    accessKeyId: answer.AccessKeyId,
    secretAccessKey: answer.SecretAccessKey,
    sessionToken: answer.Token,
    expiration,
  };
}

/** The hosts the SDK lets a container credentials URI name over plain HTTP (its checkUrl). */
const AGENT_HOSTS = new Set(['169.254.170.2', '169.254.170.23', '[fd00:ec2::23]', 'localhost', '[::1]']);

/** https, or plain http to the ECS/EKS agent addresses or loopback, as the SDK accepts. */
export function agentUrl(text: string): URL {
  const what = 'AWS_CONTAINER_CREDENTIALS_FULL_URI';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw unavailable(`${what}: "${text.slice(0, 100)}" is not a URL`);
  }
  const loopback = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(url.hostname);
  const ok =
    url.protocol === 'https:' || (url.protocol === 'http:' && (AGENT_HOSTS.has(url.hostname) || loopback));
  if (!ok)
    throw unavailable(
      `${what}: ${url.protocol}//${url.host} is neither https nor the EKS/ECS agent (169.254.170.23, 169.254.170.2, [fd00:ec2::23]) or loopback`,
    );
  if (url.username !== '' || url.password !== '') throw unavailable(`${what}: URL carries credentials`);
  return url;
}

/** EKS Pod Identity: GET the agent's URI with the pod's token (the file is read on every call: it rotates). */
export async function podIdentityCredentials(
  m: MetadataHttp,
  uri: string,
  token: { file?: string | undefined; value?: string | undefined },
): Promise<AwsCredentials> {
  const what = 'the EKS Pod Identity agent';
  const url = agentUrl(uri);
  let authorization = token.value;
  if (token.file !== undefined) {
    try {
      authorization = (await readFile(token.file, 'utf8')).trim();
    } catch (err) {
      throw unavailable(`cannot read the Pod Identity token ${token.file}: ${errorMessage(err)}`, err);
    }
  }
  if (authorization !== undefined && /[\r\n]/.test(authorization))
    throw unavailable(`${what}: the authorization token holds a line break`);
  const answer = await callJson(
    m.http(),
    {
      method: 'GET',
      url,
      ...(authorization !== undefined ? { headers: { authorization } } : {}),
    },
    CredentialsAnswer,
    what,
  );
  return credentialsOf(answer, what);
}

/** IMDS's base URL: AWS_EC2_METADATA_SERVICE_ENDPOINT, else the IPv4 (or, by mode, IPv6) address. */
export function imdsEndpoint(env: Record<string, string | undefined>): URL {
  const given = env.AWS_EC2_METADATA_SERVICE_ENDPOINT?.trim();
  const ipv6 = env.AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE?.trim().toLowerCase() === 'ipv6';
  const text =
    given !== undefined && given !== '' ? given : ipv6 ? 'http://[fd00:ec2::254]' : 'http://169.254.169.254';
  try {
    return new URL(text);
  } catch {
    throw unavailable(`AWS_EC2_METADATA_SERVICE_ENDPOINT: "${text.slice(0, 100)}" is not a URL`);
  }
}

/** One IMDS call answering text (the session token, the role's name). */
async function imdsText(
  m: MetadataHttp,
  method: 'GET' | 'PUT',
  url: URL,
  headers: Record<string, string>,
  what: string,
): Promise<string> {
  const http = m.http();
  try {
    const res = await send(
      {
        method,
        url,
        headers: { 'user-agent': 'imagegate', ...headers },
        dispatcher: http.dispatcher,
        signal: http.signal,
        timeoutMs: http.timeoutMs,
      },
      what,
    );
    if (res.status !== 200) {
      await discard(res);
      throw unavailable(`${what}: HTTP ${res.status}`);
    }
    const bytes = await readBody(res, MAX_TOKEN_ANSWER_BYTES, http.signal, what);
    return Buffer.from(bytes).toString('utf8').trim();
  } catch (err) {
    // the review's own deadline stays a TIMEOUT, as callJson keeps it
    if (http.signal.aborted || (err instanceof RegistryError && err.code === 'CREDENTIALS_UNAVAILABLE'))
      throw err;
    throw unavailable(`${what}: ${errorMessage(err)}`, err);
  }
}

const ROLE_NAME = /^[\w+=,.@-]{1,128}$/;

/** IMDSv2 only: a session token (PUT), the instance role's name, then its credentials. */
export async function imdsCredentials(m: MetadataHttp, base: URL): Promise<AwsCredentials> {
  const what = 'IMDSv2';
  const at = (path: string): URL => new URL(path, base);
  const session = await imdsText(
    m,
    'PUT',
    at('/latest/api/token'),
    { 'x-aws-ec2-metadata-token-ttl-seconds': '21600' },
    `${what} session token`,
  );
  if (session === '' || /[\r\n]/.test(session)) throw unavailable(`${what}: unusable session token`);
  const headers = { 'x-aws-ec2-metadata-token': session };
  const prefix = '/latest/meta-data/iam/security-credentials/';
  const role = (await imdsText(m, 'GET', at(prefix), headers, `${what} instance role`))
    .split('\n')[0]!
    .trim();
  if (!ROLE_NAME.test(role))
    throw unavailable(`${what}: the node has no usable instance role ("${role.slice(0, 40)}")`);
  const answer = await callJson(
    m.http(),
    { method: 'GET', url: at(prefix + role), headers },
    CredentialsAnswer,
    `${what} credentials of ${role}`,
  );
  if (answer.Code !== undefined && answer.Code !== 'Success')
    throw unavailable(`${what}: credentials of ${role} answered Code ${answer.Code.slice(0, 40)}`);
  return credentialsOf(answer, `${what} credentials of ${role}`);
}
