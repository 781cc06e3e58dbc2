/**
 * Auth for the real test registry: htpasswd lines (bcrypt via bcryptjs) and a tiny bearer-token server
 * whose ES256 tokens the registry verifies against a self-signed certificate (x5c header).
 */
import { KeyObject, sign, webcrypto } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import bcrypt from 'bcryptjs';

export function htpasswdLine(user: string, password: string): string {
  return `${user}:${bcrypt.hashSync(password, 4)}\n`;
}

export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  rootCertBundlePath: string;
  /** Token requests served, with the scope and account each asked for. */
  requests: Array<{ scope: string | null; account: string | null }>;
  /** Seconds of validity put into new tokens. */
  expiresIn: number;
  stop(): Promise<void>;
}

const b64url = (b: Uint8Array | string): string => Buffer.from(b).toString('base64url');

export async function startTokenServer(options: {
  dir: string;
  users: Record<string, string>;
  /** OAuth2 refresh tokens (Docker's identitytoken) → user, accepted with grant_type=refresh_token. */
  refreshTokens?: Record<string, string>;
  anonymousPull?: boolean;
  /** Decides user and password instead of `users` (a cloud stand-in's issued tokens); `users` still count. */
  authenticate?: (user: string, password: string) => boolean;
}): Promise<TokenServer> {
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=imagegate-test-token-issuer',
    notBefore: new Date(Date.now() - 3_600_000),
    notAfter: new Date(Date.now() + 86_400_000),
    signingAlgorithm: alg,
    keys: keys as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'],
  });
  const rootCertBundlePath = join(options.dir, 'token-root.pem');
  await writeFile(rootCertBundlePath, cert.toString('pem'));
  const privateKey = KeyObject.from(keys.privateKey);
  const x5c = [Buffer.from(cert.rawData).toString('base64')];
  const service = 'imagegate-test-registry';
  const issuer = 'imagegate-test-issuer';

  const state: TokenServer = {
    realm: '',
    service,
    issuer,
    rootCertBundlePath,
    requests: [],
    expiresIn: 300,
    stop: async () => undefined,
  };

  const account = (req: IncomingMessage): string | null | false => {
    const h = req.headers.authorization;
    if (h === undefined) return null;
    const [user, pass] = Buffer.from(h.replace(/^Basic /, ''), 'base64')
      .toString()
      .split(':');
    if (user === undefined) return false;
    return options.users[user] === pass || options.authenticate?.(user, pass ?? '') === true ? user : false;
  };

  const issue = (res: ServerResponse, scope: string | null, who: string | null | false): void => {
    state.requests.push({ scope, account: who === false ? 'invalid' : who });
    if (who === false || (who === null && options.anonymousPull !== true)) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"bad credentials"}');
      return;
    }
    const access = [];
    if (scope !== null) {
      const [type, name, actions] = scope.split(':');
      const granted = (actions ?? '').split(',').filter((a) => who !== null || a === 'pull');
      access.push({ type, name, actions: granted });
    }
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: 'ES256', typ: 'JWT', x5c };
    const claims = {
      iss: issuer,
      sub: who ?? '',
      aud: service,
      exp: now + state.expiresIn,
      nbf: now - 10,
      iat: now,
      jti: b64url(webcrypto.getRandomValues(new Uint8Array(12))),
      access,
    };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
    const token = `${input}.${b64url(sig)}`;
    const body = {
      token,
      access_token: token,
      expires_in: state.expiresIn,
      issued_at: new Date().toISOString(),
    };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };

  const server = createServer((req, res) => {
    if (req.method === 'POST') {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => {
        const form = new URLSearchParams(text);
        const refresh = form.get('grant_type') === 'refresh_token' ? form.get('refresh_token') : null;
        const user = refresh !== null ? options.refreshTokens?.[refresh] : undefined;
        issue(res, form.get('scope'), user ?? false);
      });
      return;
    }
    const url = new URL(req.url ?? '/', 'http://x');
    issue(res, url.searchParams.get('scope'), account(req));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  state.realm = `http://127.0.0.1:${port}/token`;
  state.stop = () => new Promise<void>((r) => server.close(() => r()));
  return state;
}

/** Fetches a push+pull token directly (for pushing test images to a token-auth registry). */
export async function fetchToken(
  ts: TokenServer,
  repo: string,
  user: string,
  password: string,
): Promise<string> {
  const url = `${ts.realm}?service=${ts.service}&scope=repository:${repo}:pull,push`;
  const res = await fetch(url, {
    headers: { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` },
  });
  const json = (await res.json()) as { token: string };
  return json.token;
}
