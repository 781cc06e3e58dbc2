/**
 * With an allowlist (`--allow-registry`), a registry's redirect to a host outside it is refused before
 * any connection (REDIRECT_REFUSED): README says "only these registries are ever contacted". A blob
 * redirect to an HTTPS host on loopback is counted there by its TLS connections.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry } from '../../../src/registry/client.js';
import { MAX_CONFIG_BYTES } from '../../../src/registry/media-types.js';
import { parseReference } from '../../../src/registry/reference.js';
import { startFaultProxy, type FaultProxy } from '../../helpers/fault-proxy.js';
import { buildImage, pushImage, type BuiltImage } from '../../helpers/image-builder.js';
import { useRegistry } from '../../helpers/registry.js';
import { makeTlsCert, type TestCert } from '../../helpers/tls.js';

describe('redirects with an allowlist', () => {
  const reg = useRegistry();
  let proxy: FaultProxy;
  let img: BuiltImage;
  let cert: TestCert;
  let cdn: Server;
  let cdnHost: string;
  let connections = 0;

  beforeAll(async () => {
    proxy = await startFaultProxy(reg.url);
    img = buildImage({ steps: [{ createdBy: 'ADD x /', files: { x: 'redirects' } }] });
    await pushImage(reg.url, 'app', 'v1', img);
    cert = await makeTlsCert();
    cdn = createServer({ cert: cert.certPem, key: cert.keyPem }, (_req, res) =>
      res.writeHead(200).end(Buffer.from(img.config.bytes)),
    );
    cdn.on('secureConnection', () => connections++);
    await new Promise<void>((r) => cdn.listen(0, '127.0.0.1', r));
    cdnHost = `localhost:${(cdn.address() as AddressInfo).port}`;
    proxy.inject(/^GET \/v2\/app\/blobs\//, { kind: 'redirect', to: `https://${cdnHost}/blob` });
  });
  afterAll(async () => {
    await new Promise<void>((r) => cdn.close(() => r()));
    await proxy?.stop();
  });

  const fetchConfig = async (allow: string[]) => {
    const client = createRegistry({
      allow,
      registries: { [proxy.host]: { insecure: true }, [cdnHost]: { ca: [cert.certPem] } },
      requestTimeoutMs: 5_000,
    });
    try {
      const ref = parseReference(`${proxy.host}/app:v1`);
      return await client.access().getBlob(ref, img.config, MAX_CONFIG_BYTES, AbortSignal.timeout(5_000));
    } finally {
      await client.close();
    }
  };

  it('refuses a redirect to a host outside the allowlist without connecting to it', async () => {
    await expect(fetchConfig([proxy.host])).rejects.toThrowWithCode('REDIRECT_REFUSED', {
      message: expect.stringContaining(`redirect to ${cdnHost}, which is not in the allowlist`),
    });
    expect(connections).toBe(0);
  });

  it('follows it when the host is allowed', async () => {
    const bytes = await fetchConfig([proxy.host, cdnHost]);
    expect(Buffer.from(bytes as Uint8Array).equals(Buffer.from(img.config.bytes))).toBe(true);
    expect(connections).toBeGreaterThan(0);
  });
});
