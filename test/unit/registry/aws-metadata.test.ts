/**
 * The Pod Identity agent and IMDSv2 calls (src/registry/credentials/cloud/aws/metadata.ts) against a
 * loopback server: where a pod token may be sent, and answers that must not become credentials.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  agentUrl,
  imdsCredentials,
  imdsEndpoint,
  MetadataHttp,
  podIdentityCredentials,
} from '../../../src/registry/credentials/cloud/aws/metadata.js';

const GOOD = {
  AccessKeyId: 'ASIAEXAMPLE',
  SecretAccessKey: 'secret',
  Token: 'session',
  Expiration: '2030-01-01T00:00:00Z',
};

describe('AWS node-local credential calls', () => {
  let server: Server;
  let base: string;
  let answer: (path: string, res: ServerResponse) => void = () => undefined;
  const seen: Array<{ method: string; path: string; authorization?: string }> = [];
  const http = new MetadataHttp(2000);

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push({
        method: req.method ?? '',
        path: req.url ?? '',
        ...(req.headers.authorization !== undefined ? { authorization: req.headers.authorization } : {}),
      });
      answer(req.url ?? '', res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    http.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  describe('agentUrl', () => {
    it.each([
      'https://agent.example/creds',
      'http://169.254.170.23/v1/credentials',
      'http://[fd00:ec2::23]/v1/credentials',
      'http://169.254.170.2/v2/credentials/x',
      'http://127.0.0.5:8080/creds',
      'http://localhost/creds',
    ])('accepts %s (https, the agent addresses, loopback)', (uri) => {
      expect(agentUrl(uri).href).toBe(new URL(uri).href);
    });

    it.each([
      'http://attacker.example/creds',
      'http://169.254.169.254/latest',
      'http://10.0.0.1/creds',
      'https://user:pw@agent.example/',
      'not a url',
    ])('refuses to send the pod token to %s: CREDENTIALS_UNAVAILABLE', (uri) => {
      expect(() => agentUrl(uri)).toThrowWithCode(
        'CREDENTIALS_UNAVAILABLE',
        /AWS_CONTAINER_CREDENTIALS_FULL_URI/,
      );
    });
  });

  it('IMDS: the configured endpoint, else the IPv4 or IPv6 address', () => {
    expect(imdsEndpoint({ AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:1' }).href).toBe(
      'http://127.0.0.1:1/',
    );
    expect(imdsEndpoint({}).href).toBe('http://169.254.169.254/');
    expect(imdsEndpoint({ AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE: 'IPv6' }).href).toBe(
      'http://[fd00:ec2::254]/',
    );
  });

  describe('Pod Identity', () => {
    it('sends the token and returns the credentials with their expiry', async () => {
      answer = (_p, res) => res.writeHead(200).end(JSON.stringify(GOOD));
      const c = await podIdentityCredentials(http, `${base}/v1/credentials`, { value: 'pod-token' });
      expect(c).toEqual({
        accessKeyId: 'ASIAEXAMPLE',
        secretAccessKey: 'secret',
        sessionToken: 'session',
        expiration: new Date('2030-01-01T00:00:00Z'),
      });
      expect(seen.at(-1)).toEqual({ method: 'GET', path: '/v1/credentials', authorization: 'pod-token' });
    });

    it.each([
      [
        'an answer without a secret',
        () => JSON.stringify({ ...GOOD, SecretAccessKey: undefined }),
        /SecretAccessKey/,
      ],
      [
        'an expiry that is not a time',
        () => JSON.stringify({ ...GOOD, Expiration: 'soon' }),
        /Expiration "soon" is not a time/,
      ],
      [
        'an answer over 64 KiB',
        () => JSON.stringify({ ...GOOD, pad: 'x'.repeat(70_000) }),
        /response is larger than 65536 bytes/,
      ],
    ])('refuses %s with CREDENTIALS_UNAVAILABLE', async (_name, body, message) => {
      answer = (_p, res) => res.writeHead(200).end(body());
      await expect(
        podIdentityCredentials(http, `${base}/v1/credentials`, { value: 'pod-token' }),
      ).rejects.toThrowWithCode('CREDENTIALS_UNAVAILABLE', message);
    });

    it('names the agent and its status when it refuses the token', async () => {
      answer = (_p, res) => res.writeHead(403).end('{"code":"AccessDeniedException"}');
      await expect(
        podIdentityCredentials(http, `${base}/v1/credentials`, { value: 'pod-token' }),
      ).rejects.toThrowWithCode('CREDENTIALS_UNAVAILABLE', /the EKS Pod Identity agent: HTTP 403/);
    });

    it('never sends a token holding a line break (header injection)', async () => {
      const before = seen.length;
      await expect(
        podIdentityCredentials(http, `${base}/v1/credentials`, { value: 'a\r\nX-Evil: 1' }),
      ).rejects.toThrowWithCode('CREDENTIALS_UNAVAILABLE', /line break/);
      expect(seen.length).toBe(before);
    });
  });

  describe('IMDSv2', () => {
    it('a session token, the role, its credentials; a Code other than Success is refused', async () => {
      let code = 'Success';
      answer = (path, res) => {
        if (path === '/latest/api/token') return void res.writeHead(200).end('imds-session');
        if (path === '/latest/meta-data/iam/security-credentials/')
          return void res.writeHead(200).end('node-role\n');
        res.writeHead(200).end(JSON.stringify({ ...GOOD, Code: code }));
      };
      const before = seen.length;
      expect((await imdsCredentials(http, new URL(base))).accessKeyId).toBe('ASIAEXAMPLE');
      expect(seen.slice(before).map((s) => `${s.method} ${s.path}`)).toEqual([
        'PUT /latest/api/token',
        'GET /latest/meta-data/iam/security-credentials/',
        'GET /latest/meta-data/iam/security-credentials/node-role',
      ]);
      code = 'Failed';
      await expect(imdsCredentials(http, new URL(base))).rejects.toThrowWithCode(
        'CREDENTIALS_UNAVAILABLE',
        /credentials of node-role answered Code Failed/,
      );
    });

    it('a role name that is not one (a path, an empty list) is never asked for', async () => {
      answer = (path, res) => {
        if (path === '/latest/api/token') return void res.writeHead(200).end('imds-session');
        res.writeHead(200).end('../../user-data');
      };
      await expect(imdsCredentials(http, new URL(base))).rejects.toThrowWithCode(
        'CREDENTIALS_UNAVAILABLE',
        /IMDSv2: the node has no usable instance role/,
      );
    });
  });
});
