import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry } from '../../../src/registry/client.js';
import { readPullSecrets } from '../../../src/registry/credentials/index.js';
import { parseReference } from '../../../src/registry/reference.js';
import { htpasswdLine } from '../../helpers/auth-servers.js';
import { buildImage, pushImage, type BuiltImage } from '../../helpers/image-builder.js';
import { useRegistry } from '../../helpers/use-registry.js';

const fixture = (name: string): Promise<string> =>
  readFile(new URL(`../../fixtures/k8s/${name}`, import.meta.url), 'utf8');

function apiFor(server: Server): CoreV1Api {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      {
        name: 'test',
        server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        skipTLSVerify: true,
      },
    ],
    users: [{ name: 'test', token: 'test-token' }],
    contexts: [{ name: 'test', cluster: 'test', user: 'test' }],
    currentContext: 'test',
  });
  return kc.makeApiClient(CoreV1Api);
}

describe('pull secrets from the Kubernetes API (recorded responses) used against a real registry', () => {
  const reg = useRegistry({ htpasswd: htpasswdLine('shop', 'pull-only') });
  let img: BuiltImage;
  let server: Server;
  const paths: string[] = [];
  let forbid = false;

  beforeAll(async () => {
    img = buildImage({ steps: [{ createdBy: 'ADD x /', files: { x: 'k8s' } }] });
    await pushImage(reg.url, 'shop/web', '1.0', img, {
      authorization: `Basic ${Buffer.from('shop:pull-only').toString('base64')}`,
    });
    const dockerconfig = JSON.stringify({
      auths: { [reg.host]: { auth: Buffer.from('shop:pull-only').toString('base64') } },
    });
    const secret = (await fixture('secret-dockerconfigjson.json')).replace(
      'REPLACED_BY_TEST',
      Buffer.from(dockerconfig).toString('base64'),
    );
    const sa = await fixture('serviceaccount-default.json');
    server = createServer((req, res) => {
      paths.push(req.url ?? '');
      const json = (status: number, body: string): void => {
        res.writeHead(status, { 'content-type': 'application/json' }).end(body);
      };
      if (forbid)
        return json(
          403,
          '{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Forbidden","code":403}',
        );
      if (req.url === '/api/v1/namespaces/shop/serviceaccounts/default') return json(200, sa);
      if (req.url === '/api/v1/namespaces/shop/secrets/regcred') return json(200, secret);
      json(404, '{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });
  afterAll(async () => {
    await new Promise<void>((r) => server?.close(() => r()));
  });

  it('reads the service account secrets, skips missing ones, and the registry accepts them', async () => {
    const creds = await readPullSecrets(apiFor(server), {
      namespace: 'shop',
      imagePullSecrets: [{ name: 'missing' }],
    });
    expect(paths).toEqual(
      expect.arrayContaining([
        '/api/v1/namespaces/shop/serviceaccounts/default',
        '/api/v1/namespaces/shop/secrets/missing',
        '/api/v1/namespaces/shop/secrets/regcred',
        '/api/v1/namespaces/shop/secrets/deleted-secret',
      ]),
    );
    const client = createRegistry({ registries: { [reg.host]: { insecure: true } } });
    const ref = parseReference(`${reg.host}/shop/web:1.0`);
    await expect(client.access().resolve(ref, AbortSignal.timeout(5_000))).rejects.toThrowWithCode(
      'UNAUTHORIZED',
    );
    const resolved = await client.access({ credentials: creds }).resolve(ref, AbortSignal.timeout(5_000));
    expect(resolved.digest).toBe(img.manifest.digest);
    await client.close();
  });

  it('gives CREDENTIALS_UNAVAILABLE (indeterminate) when the API refuses', async () => {
    forbid = true;
    await expect(readPullSecrets(apiFor(server), { namespace: 'shop' })).rejects.toThrowWithCode(
      'CREDENTIALS_UNAVAILABLE',
      { indeterminate: true, message: expect.stringContaining('service account shop/default') },
    );
    expect(paths.at(-1)).toBe('/api/v1/namespaces/shop/serviceaccounts/default');
    forbid = false;
  });
});
