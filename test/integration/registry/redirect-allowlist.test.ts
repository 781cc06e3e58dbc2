/**
 * With an allowlist (`--allow-registry`), a registry's redirect to a host outside it is refused before
 * any connection (REDIRECT_REFUSED): README says "only these registries are ever contacted". A blob
 * redirect to an HTTPS host on loopback is counted there by its TLS connections.
 */
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createRegistry } from '../../../src/registry/client.js';
import { MAX_CONFIG_BYTES } from '../../../src/registry/media-types.js';
import { parseReference } from '../../../src/registry/reference.js';
import { startFaultProxy } from '../../helpers/fault-proxy.js';
import { buildImage, pushImage } from '../../helpers/image-builder.js';
import { useRegistry } from '../../helpers/use-registry.js';
import { makeTlsCert } from '../../helpers/tls.js';
import { useSuiteValue } from '../../helpers/suite-value.js';

describe('redirects with an allowlist', () => {
  const reg = useRegistry();
  const proxy = useSuiteValue(
    () => startFaultProxy(reg.url),
    (p) => p.stop(),
  );
  /** A TLS server on localhost that answers any request with the image's config blob. */
  const cdn = useSuiteValue(
    async () => {
      const img = buildImage({ steps: [{ createdBy: 'ADD x /', files: { x: 'redirects' } }] });
      await pushImage(reg.url, 'app', 'v1', img);
      const cert = await makeTlsCert();
      const stats = { connections: 0 };
      const server = createServer({ cert: cert.certPem, key: cert.keyPem }, (_req, res) =>
        res.writeHead(200).end(Buffer.from(img.config.bytes)),
      );
      server.on('secureConnection', () => stats.connections++);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const host = `localhost:${(server.address() as AddressInfo).port}`;
      proxy.inject(/^GET \/v2\/app\/blobs\//, { kind: 'redirect', to: `https://${host}/blob` });
      return { img, cert, stats, server, host };
    },
    ({ server }) => new Promise<void>((r) => server.close(() => r())),
  );

  const fetchConfig = async (allow: string[]) => {
    const client = createRegistry({
      allow,
      registries: { [proxy.host]: { insecure: true }, [cdn.host]: { ca: [cdn.cert.certPem] } },
      requestTimeoutMs: 5_000,
    });
    try {
      const ref = parseReference(`${proxy.host}/app:v1`);
      return await client.access().getBlob(ref, cdn.img.config, MAX_CONFIG_BYTES, AbortSignal.timeout(5_000));
    } finally {
      await client.close();
    }
  };

  it('refuses a redirect to a host outside the allowlist without connecting to it', async () => {
    await expect(fetchConfig([proxy.host])).rejects.toThrowWithCode('REDIRECT_REFUSED', {
      message: expect.stringContaining(`redirect to ${cdn.host}, which is not in the allowlist`),
    });
    expect(cdn.stats.connections).toBe(0);
  });

  it('follows it when the host is allowed', async () => {
    const bytes = await fetchConfig([proxy.host, cdn.host]);
    expect(Buffer.from(bytes as Uint8Array).equals(Buffer.from(cdn.img.config.bytes))).toBe(true);
    expect(cdn.stats.connections).toBeGreaterThan(0);
  });
});
