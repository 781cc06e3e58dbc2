import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry } from '../../../src/registry/client.js';
import { Keyring } from '../../../src/registry/credentials/index.js';
import { MAX_CONFIG_BYTES } from '../../../src/registry/media-types.js';
import { parseReference } from '../../../src/registry/reference.js';
import { htpasswdLine } from '../../helpers/auth-servers.js';
import { startFaultProxy, type FaultProxy } from '../../helpers/fault-proxy.js';
import { buildImage, pushImage, type BuiltImage } from '../../helpers/image-builder.js';
import { useRegistry } from '../../helpers/use-registry.js';
import { makeTlsCert, type TestCert } from '../../helpers/tls.js';

const signal = (): AbortSignal => AbortSignal.timeout(5_000);

describe('an HTTPS registry with a private CA, basic auth and a blob CDN on another host', () => {
  let cert: TestCert;
  const reg = useRegistry({ htpasswd: htpasswdLine('carol', 'pw') });
  let proxy: FaultProxy;
  let cdn: Server;
  let cdnHost: string;
  let img: BuiltImage;
  const cdnAuth: Array<string | undefined> = [];
  const creds = new Keyring([]);

  beforeAll(async () => {
    cert = await makeTlsCert();
    proxy = await startFaultProxy(reg.url, { tls: cert });
    img = buildImage({ steps: [{ createdBy: 'ADD x /', files: { x: 'tls' } }] });
    await pushImage(reg.url, 'app', 'v1', img, {
      authorization: `Basic ${Buffer.from('carol:pw').toString('base64')}`,
    });
    cdn = createServer({ key: cert.keyPem, cert: cert.certPem }, (req, res) => {
      cdnAuth.push(req.headers.authorization);
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.from(img.config.bytes));
    });
    await new Promise<void>((r) => cdn.listen(0, '127.0.0.1', r));
    cdnHost = `localhost:${(cdn.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => cdn?.close(() => r()));
    await proxy?.stop();
  });

  const withCa = (): ReturnType<typeof createRegistry> =>
    createRegistry({
      registries: { [proxy.host]: { ca: [cert.certPem] }, [cdnHost]: { ca: [cert.certPem] } },
      credentials: new Keyring([[proxy.host, { kind: 'basic', username: 'carol', password: 'pw' }]]),
    });

  it('trusts the extra CA and authenticates', async () => {
    const client = withCa();
    const resolved = await client.access().resolve(parseReference(`${proxy.host}/app:v1`), signal());
    expect(resolved.digest).toBe(img.manifest.digest);
    await client.close();
  });

  it('fails with REGISTRY_UNAVAILABLE when the CA is not trusted', async () => {
    const client = createRegistry({ credentials: creds });
    await expect(
      client.access().resolve(parseReference(`${proxy.host}/app:v1`), signal()),
    ).rejects.toThrowWithCode('REGISTRY_UNAVAILABLE', {
      indeterminate: true,
      message: expect.stringMatching(/certificate/i),
    });
    await client.close();
  });

  it('follows a blob redirect to another host without sending the credentials there', async () => {
    const client = withCa();
    await client.access().resolve(parseReference(`${proxy.host}/app:v1`), signal()); // learns the challenge
    proxy.clear();
    proxy.inject(/^GET \/v2\/app\/blobs\//, { kind: 'redirect', to: `https://${cdnHost}/blob?sig=abc` }, 1);
    const bytes = await client
      .access()
      .getBlob(parseReference(`${proxy.host}/app:v1`), img.config, MAX_CONFIG_BYTES, signal());
    expect(Buffer.from(bytes).equals(Buffer.from(img.config.bytes))).toBe(true);
    expect(proxy.log).toEqual([`GET /v2/app/blobs/${img.config.digest}`]);
    expect(proxy.authorized).toEqual([true]);
    expect(cdnAuth).toEqual([undefined]);
    await client.close();
  });
});
