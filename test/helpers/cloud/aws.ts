/**
 * Loopback stand-ins for the AWS services imagegate's ECR provider calls, each speaking the documented
 * HTTP API the real SDK sends: STS `AssumeRoleWithWebIdentity` (query protocol, XML answers), ECR
 * `GetAuthorizationToken` (JSON 1.1, SigV4-signed with credentials issued here), IMDSv2 (token PUT,
 * then the role's credentials with that token) and the EKS Pod Identity agent (GET with the
 * Authorization token from the pod's token file). `ecrPasswordValid` is what the registry in front
 * of them asks: only a password this ECR issued, unexpired, for that registry's region is accepted.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifySigV4 } from './sigv4.js';

export type AwsService = 'sts' | 'ecr' | 'imds' | 'pod-identity';

export interface IssuedCredentials {
  secret: string;
  sessionToken: string;
  role: string;
  via: 'irsa' | 'imds' | 'pod-identity' | 'static';
}

export interface AwsWorld {
  urls: Record<AwsService, string>;
  /** The clock ECR tokens expire by (tests move it); default Date.now. */
  now: () => number;
  ecrValidityMs: number;
  /** Web identity token text → the roles it may assume (the roles' trust policies). */
  webIdentity: Map<string, Set<string>>;
  /** Pod Identity agent authorization token → the role it hands out. */
  podIdentity: Map<string, string>;
  /** The role IMDS hands out, if the node has one. */
  imdsRole: string | undefined;
  /** Roles allowed ecr:GetAuthorizationToken. */
  ecrRoles: Set<string>;
  /** Static access keys (a CI runner's): key id → secret, role. */
  staticKeys: Map<string, { secret: string; role: string }>;
  /** Services that answer 503 (down). */
  down: Set<AwsService>;
  /** Services that accept the request and never answer. */
  hang: Set<AwsService>;
  /** Requests left unanswered (`hang`): when they came and when the client closed their socket (epoch ms). */
  hung: Array<{ service: AwsService; at: number; closedAt?: number; closed: Promise<void> }>;
  /** Every call, by service, in order (ECR: region and role). */
  calls: { sts: string[]; ecr: Array<{ region: string; role: string }>; imds: string[]; podIdentity: number };
  /** Whether ECR issued `password` and it has not expired; with `region`, issued for that region. */
  ecrPasswordValid(password: string, region?: string): boolean;
  stop(): Promise<void>;
}

const STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/';
const id = (prefix: string): string => `${prefix}${randomBytes(8).toString('hex').toUpperCase()}`;

function body(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function listen(
  handler: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void,
  hangs: () => boolean = () => false,
  onHang: (req: IncomingMessage) => void = () => undefined,
): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    if (hangs()) return onHang(req); // the socket stays open, unanswered, until the client gives up
    body(req).then(
      (b) => handler(req, res, b),
      () => res.destroy(),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

export async function startAwsWorld(): Promise<AwsWorld> {
  const issued = new Map<string, IssuedCredentials & { expiresAt: number }>();
  const passwords = new Map<string, { region: string; expiresAt: number }>();
  const imdsTokens = new Set<string>();
  const world = {
    now: Date.now,
    ecrValidityMs: 12 * 3600_000,
    webIdentity: new Map<string, Set<string>>(),
    podIdentity: new Map<string, string>(),
    imdsRole: undefined as string | undefined,
    ecrRoles: new Set<string>(),
    staticKeys: new Map<string, { secret: string; role: string }>(),
    down: new Set<AwsService>(),
    hang: new Set<AwsService>(),
    hung: [] as AwsWorld['hung'],
    calls: {
      sts: [] as string[],
      ecr: [] as Array<{ region: string; role: string }>,
      imds: [] as string[],
      podIdentity: 0,
    },
  };
  /** A request left unanswered: when it came and when the client closed its socket. */
  const recordHang = (service: AwsService, req: IncomingMessage): void => {
    const entry: AwsWorld['hung'][number] = {
      service,
      at: Date.now(),
      closed: new Promise<void>((resolve) =>
        req.socket.once('close', () => {
          entry.closedAt = Date.now();
          resolve();
        }),
      ),
    };
    world.hung.push(entry);
  };
  const issue = (role: string, via: IssuedCredentials['via']): { keyId: string } & IssuedCredentials => {
    const keyId = id('ASIA');
    const creds = {
      secret: randomBytes(20).toString('base64'),
      sessionToken: randomBytes(32).toString('base64'),
      role,
      via,
    };
    issued.set(keyId, { ...creds, expiresAt: Date.now() + 3600_000 });
    return { keyId, ...creds };
  };
  const unavailable = (res: ServerResponse): void => {
    res.writeHead(503).end('service unavailable');
  };

  const sts = await listen(
    (_req, res, b) => {
      if (world.down.has('sts')) return unavailable(res);
      const form = new URLSearchParams(b.toString('utf8'));
      const roleArn = form.get('RoleArn') ?? '';
      world.calls.sts.push(roleArn);
      const fail = (code: string, message: string, status = 403): void => {
        res
          .writeHead(status, { 'content-type': 'text/xml' })
          .end(
            `<ErrorResponse xmlns="${STS_NS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>${id('')}</RequestId></ErrorResponse>`,
          );
      };
      if (form.get('Action') !== 'AssumeRoleWithWebIdentity')
        return fail('InvalidAction', 'unsupported', 400);
      const roles = world.webIdentity.get(form.get('WebIdentityToken') ?? '');
      if (roles === undefined)
        return fail(
          'InvalidIdentityToken',
          'Couldn&apos;t retrieve verification key from your identity provider',
          400,
        );
      if (!roles.has(roleArn))
        return fail('AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity');
      const c = issue(roleArn, 'irsa');
      const session = form.get('RoleSessionName') ?? '';
      res
        .writeHead(200, { 'content-type': 'text/xml' })
        .end(
          `<AssumeRoleWithWebIdentityResponse xmlns="${STS_NS}"><AssumeRoleWithWebIdentityResult>` +
            `<Credentials><AccessKeyId>${c.keyId}</AccessKeyId><SecretAccessKey>${c.secret}</SecretAccessKey>` +
            `<SessionToken>${c.sessionToken}</SessionToken><Expiration>${new Date(Date.now() + 3600_000).toISOString()}</Expiration></Credentials>` +
            `<SubjectFromWebIdentityToken>system:serviceaccount:imagegate:imagegate</SubjectFromWebIdentityToken>` +
            `<AssumedRoleUser><Arn>${roleArn.replace(':iam:', ':sts:').replace(':role/', ':assumed-role/')}/${session}</Arn><AssumedRoleId>AROA${id('')}:${session}</AssumedRoleId></AssumedRoleUser>` +
            `<Audience>sts.amazonaws.com</Audience></AssumeRoleWithWebIdentityResult>` +
            `<ResponseMetadata><RequestId>${id('')}</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>`,
        );
    },
    () => world.hang.has('sts'),
    (req) => recordHang('sts', req),
  );

  const ecr = await listen(
    (req, res, b) => {
      if (world.down.has('ecr')) return unavailable(res);
      const fail = (type: string, message: string, status = 400): void => {
        res
          .writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': type })
          .end(JSON.stringify({ __type: type, message }));
      };
      if (req.headers['x-amz-target'] !== 'AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken')
        return fail('UnknownOperationException', 'unsupported');
      const signer = verifySigV4(
        { method: req.method ?? '', url: req.url ?? '/', headers: req.headers, body: b },
        (keyId) => {
          const s = world.staticKeys.get(keyId);
          if (s !== undefined) return { secret: s.secret };
          const c = issued.get(keyId);
          return c !== undefined && c.expiresAt > Date.now()
            ? { secret: c.secret, sessionToken: c.sessionToken }
            : undefined;
        },
      );
      if ('refused' in signer)
        return fail(signer.refused.split(':')[0] ?? 'AccessDenied', signer.refused, 403);
      if (signer.service !== 'ecr')
        return fail('InvalidSignatureException', `signed for ${signer.service}`, 403);
      const role =
        world.staticKeys.get(signer.accessKeyId)?.role ?? issued.get(signer.accessKeyId)?.role ?? '';
      world.calls.ecr.push({ region: signer.region, role });
      if (!world.ecrRoles.has(role)) {
        return fail(
          'AccessDeniedException',
          `User: ${role} is not authorized to perform: ecr:GetAuthorizationToken on resource: * because no identity-based policy allows the ecr:GetAuthorizationToken action`,
        );
      }
      const password = randomBytes(24).toString('base64url');
      const expiresAt = world.now() + world.ecrValidityMs;
      passwords.set(password, { region: signer.region, expiresAt });
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' }).end(
        JSON.stringify({
          authorizationData: [
            {
              authorizationToken: Buffer.from(`AWS:${password}`).toString('base64'),
              expiresAt: expiresAt / 1000,
              proxyEndpoint: `https://111122223333.dkr.ecr.${signer.region}.amazonaws.com`,
            },
          ],
        }),
      );
    },
    () => world.hang.has('ecr'),
  );

  const imds = await listen(
    (req, res) => {
      if (world.down.has('imds')) return unavailable(res);
      const path = req.url ?? '/';
      world.calls.imds.push(`${req.method} ${path}`);
      if (req.method === 'PUT' && path === '/latest/api/token') {
        if (req.headers['x-aws-ec2-metadata-token-ttl-seconds'] === undefined)
          return void res.writeHead(400).end();
        const token = randomBytes(24).toString('base64');
        imdsTokens.add(token);
        return void res.writeHead(200, { 'content-type': 'text/plain' }).end(token);
      }
      // IMDSv2 only: every GET needs a session token
      const token = req.headers['x-aws-ec2-metadata-token'];
      if (req.method !== 'GET' || typeof token !== 'string' || !imdsTokens.has(token))
        return void res.writeHead(401).end();
      const prefix = '/latest/meta-data/iam/security-credentials/';
      if (!path.startsWith(prefix) || world.imdsRole === undefined) return void res.writeHead(404).end();
      const roleName = world.imdsRole.split('/').pop() ?? '';
      if (path === prefix) return void res.writeHead(200, { 'content-type': 'text/plain' }).end(roleName);
      if (path !== prefix + roleName) return void res.writeHead(404).end();
      const c = issue(world.imdsRole, 'imds');
      res.writeHead(200, { 'content-type': 'text/plain' }).end(
        JSON.stringify({
          Code: 'Success',
          LastUpdated: new Date().toISOString(),
          Type: 'AWS-HMAC',
          AccessKeyId: c.keyId,
          SecretAccessKey: c.secret,
          Token: c.sessionToken,
          Expiration: new Date(Date.now() + 3600_000).toISOString(),
        }),
      );
    },
    () => world.hang.has('imds'),
    (req) => recordHang('imds', req),
  );

  const podIdentity = await listen(
    (req, res) => {
      if (world.down.has('pod-identity')) return unavailable(res);
      world.calls.podIdentity++;
      const role = world.podIdentity.get(String(req.headers.authorization ?? ''));
      if (req.method !== 'GET' || role === undefined) {
        return void res.writeHead(403, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            code: 'AccessDeniedException',
            message: 'no pod identity association for this token',
          }),
        );
      }
      const c = issue(role, 'pod-identity');
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          AccessKeyId: c.keyId,
          SecretAccessKey: c.secret,
          Token: c.sessionToken,
          AccountId: '111122223333',
          Expiration: new Date(Date.now() + 3600_000).toISOString(),
        }),
      );
    },
    () => world.hang.has('pod-identity'),
    (req) => recordHang('pod-identity', req),
  );

  const servers = [sts.server, ecr.server, imds.server, podIdentity.server];
  return Object.assign(world, {
    urls: { sts: sts.url, ecr: ecr.url, imds: imds.url, 'pod-identity': `${podIdentity.url}/v1/credentials` },
    ecrPasswordValid(password: string, region?: string): boolean {
      const p = passwords.get(password);
      return p !== undefined && (region === undefined || p.region === region) && p.expiresAt > world.now();
    },
    stop: async () => {
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((r) => {
              s.closeAllConnections();
              s.close(() => r());
            }),
        ),
      );
    },
  });
}
