import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRegistry, type Registry } from '../../../src/registry/client.js';
import { parseReference } from '../../../src/registry/reference.js';
import { MAX_CONFIG_BYTES } from '../../../src/registry/media-types.js';
import { startFaultProxy, type FaultProxy } from '../../helpers/fault-proxy.js';
import { buildImage, pushImage, type BuiltImage } from '../../helpers/image-builder.js';
import { freePort } from '../../helpers/registry.js';
import { useRegistry } from '../../helpers/use-registry.js';

/**
 * Runs `fn` and returns its rejection. Which bound ended a request is asserted from the error (its
 * code and message), not from elapsed time: the suite asserts no timings.
 */
async function failure(fn: () => Promise<unknown>): Promise<{ err: unknown }> {
  try {
    await fn();
  } catch (err) {
    return { err };
  }
  throw new Error('expected a failure');
}

describe('registry faults', () => {
  const reg = useRegistry();
  let proxy: FaultProxy;
  let img: BuiltImage;
  let client: Registry;
  const statuses: string[] = [];
  const MANIFEST = /^GET \/v2\/app\/manifests\//;
  const ref = (): ReturnType<typeof parseReference> => parseReference(`${proxy.host}/app:v1`);

  beforeAll(async () => {
    proxy = await startFaultProxy(reg.url);
    img = buildImage({ steps: [{ createdBy: 'ADD x /', files: { x: 'faults' } }] });
    await pushImage(reg.url, 'app', 'v1', img);
  });
  afterAll(async () => {
    await proxy?.stop();
  });
  beforeEach(() => {
    proxy.clear();
    statuses.length = 0;
    client = createRegistry(
      { registries: { [proxy.host]: { insecure: true } }, requestTimeoutMs: 2_000 },
      { onRequest: (_r, status) => statuses.push(status) },
    );
  });
  afterEach(() => client.close());

  it('gives TIMEOUT (indeterminate) at the caller deadline when the registry stalls', async () => {
    proxy.inject(MANIFEST, { kind: 'stall' });
    const { err } = await failure(() => client.access().resolve(ref(), AbortSignal.timeout(300)));
    // the caller's 300 ms, not the client's 2 s per-request timeout, ended it: the message says which
    expect(err).toMatchObject({ code: 'TIMEOUT', indeterminate: true });
    expect((err as Error).message).toMatch(/deadline reached/);
  });

  it('reports every HTTP exchange to onRequest with its status or error code', async () => {
    await client.access().resolve(ref(), AbortSignal.timeout(5_000));
    expect(statuses).toEqual(['200']);
    proxy.inject(/^GET \/v2\/app\/blobs\//, { kind: 'stall' });
    const resolved = await client.access().resolve(ref(), AbortSignal.timeout(5_000));
    await expect(resolved.platforms(['linux/amd64'], AbortSignal.timeout(200))).rejects.toThrowWithCode(
      'TIMEOUT',
    );
    expect(statuses).toEqual(['200', 'timeout']);
  });

  it('uses the referrers API when the registry answers it, filtering by artifactType', async () => {
    const sig = {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      size: 10,
      artifactType: 'application/sig',
    };
    const index = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        { ...sig, digest: `sha256:${'1'.repeat(64)}` },
        { ...sig, digest: `sha256:${'2'.repeat(64)}`, artifactType: 'application/sbom' },
      ],
    };
    proxy.inject(/^GET \/v2\/app\/referrers\//, {
      kind: 'status',
      status: 200,
      headers: { 'content-type': 'application/vnd.oci.image.index.v1+json' },
      body: JSON.stringify(index),
    });
    const found = await client
      .access()
      .getReferrers(ref(), img.manifest.digest, 'application/sig', AbortSignal.timeout(5_000));
    expect(found.map((d) => d.digest)).toEqual([`sha256:${'1'.repeat(64)}`]);
    expect(proxy.log).toEqual([
      `GET /v2/app/referrers/${img.manifest.digest}?artifactType=${encodeURIComponent('application/sig')}`,
    ]);
  });

  it('gives TIMEOUT at the per-request timeout when no deadline is shorter', async () => {
    const short = createRegistry({ registries: { [proxy.host]: { insecure: true } }, requestTimeoutMs: 300 });
    proxy.inject(MANIFEST, { kind: 'stall' });
    const { err } = await failure(() => short.access().resolve(ref(), AbortSignal.timeout(10_000)));
    // the 300 ms per-request timeout, not the caller's 10 s, ended it
    expect(err).toMatchObject({ code: 'TIMEOUT', indeterminate: true });
    expect((err as Error).message).toMatch(/no answer in time/);
    await short.close();
  });

  it('gives REGISTRY_UNAVAILABLE on HTTP 500 and does not cache the failure', async () => {
    proxy.inject(MANIFEST, { kind: 'status', status: 500 }, 1);
    const { err } = await failure(() => client.access().resolve(ref(), AbortSignal.timeout(5_000)));
    expect(err).toMatchObject({ code: 'REGISTRY_UNAVAILABLE', indeterminate: true });
    expect(statuses).toContain('500');
    const ok = await client.access().resolve(ref(), AbortSignal.timeout(5_000));
    expect(ok.digest).toBe(img.manifest.digest);
  });

  it('gives REGISTRY_UNAVAILABLE quickly when the registry is down', async () => {
    const port = await freePort();
    const down = createRegistry({ registries: { [`127.0.0.1:${port}`]: { insecure: true } } });
    const { err } = await failure(() =>
      down.access().resolve(parseReference(`127.0.0.1:${port}/app:v1`), AbortSignal.timeout(5_000)),
    );
    // refused at once: waiting for the 5 s deadline would have been a TIMEOUT
    expect(err).toMatchObject({ code: 'REGISTRY_UNAVAILABLE', indeterminate: true });
    await down.close();
  });

  it('honours a 429 Retry-After that fits the deadline, once', async () => {
    proxy.inject(MANIFEST, { kind: 'status', status: 429, headers: { 'retry-after': '1' } }, 1);
    const start = Date.now();
    const resolved = await client
      .access({ deadline: Date.now() + 5_000 })
      .resolve(ref(), AbortSignal.timeout(5_000));
    expect(resolved.digest).toBe(img.manifest.digest);
    expect(Date.now() - start).toBeGreaterThanOrEqual(900);
    expect(proxy.count(MANIFEST)).toBe(2);
  });

  it('gives RATE_LIMITED at once when Retry-After does not fit the deadline', async () => {
    proxy.inject(MANIFEST, { kind: 'status', status: 429, headers: { 'retry-after': '30' } });
    const { err } = await failure(() =>
      client.access({ deadline: Date.now() + 2_000 }).resolve(ref(), AbortSignal.timeout(2_000)),
    );
    // not waited for: waiting 30 s would have ended at the 2 s deadline as a TIMEOUT
    expect(err).toMatchObject({ code: 'RATE_LIMITED', indeterminate: true });
    expect(proxy.count(MANIFEST)).toBe(1);
  });

  it('gives RATE_LIMITED after one retry when the registry keeps answering 429', async () => {
    proxy.inject(MANIFEST, { kind: 'status', status: 429, headers: { 'retry-after': '0' } });
    const { err } = await failure(() => client.access().resolve(ref(), AbortSignal.timeout(2_000)));
    expect(err).toMatchObject({ code: 'RATE_LIMITED' });
    expect(proxy.count(MANIFEST)).toBe(2);
  });

  it('gives DIGEST_MISMATCH (definitive) when the registry returns other bytes for a digest', async () => {
    proxy.inject(MANIFEST, { kind: 'wrongBytes' });
    const byDigest = parseReference(`${proxy.host}/app@${img.manifest.digest}`);
    const { err } = await failure(() => client.access().resolve(byDigest, AbortSignal.timeout(5_000)));
    expect(err).toMatchObject({ code: 'DIGEST_MISMATCH', indeterminate: false });
  });

  it('gives DIGEST_MISMATCH when a tag answer contradicts its Docker-Content-Digest', async () => {
    proxy.inject(MANIFEST, { kind: 'wrongBytes' });
    const { err } = await failure(() => client.access().resolve(ref(), AbortSignal.timeout(5_000)));
    expect(err).toMatchObject({ code: 'DIGEST_MISMATCH', indeterminate: false });
  });

  it('gives DIGEST_MISMATCH for a tampered config blob', async () => {
    const resolved = await client.access().resolve(ref(), AbortSignal.timeout(5_000));
    proxy.inject(/^GET \/v2\/app\/blobs\//, { kind: 'wrongBytes' });
    await expect(resolved.platforms(['linux/amd64'], AbortSignal.timeout(5_000))).rejects.toThrowWithCode(
      'DIGEST_MISMATCH',
    );
  });

  it('gives RESPONSE_TOO_LARGE for an oversized manifest, streamed or declared, without reading it all', async () => {
    proxy.inject(MANIFEST, { kind: 'oversize', bytes: 64 * 1024 * 1024 }, 1);
    const { err } = await failure(() => client.access().resolve(ref(), AbortSignal.timeout(5_000)));
    expect(err).toMatchObject({ code: 'RESPONSE_TOO_LARGE' });
    proxy.inject(MANIFEST, { kind: 'oversize', bytes: 5 * 1024 * 1024, declareLength: true }, 1);
    await expect(client.access().resolve(ref(), AbortSignal.timeout(5_000))).rejects.toThrowWithCode(
      'RESPONSE_TOO_LARGE',
    );
  });

  it('gives RESPONSE_TOO_LARGE for a config blob past the config cap', async () => {
    const resolved = await client.access().resolve(ref(), AbortSignal.timeout(5_000));
    proxy.inject(/^GET \/v2\/app\/blobs\//, { kind: 'oversize', bytes: MAX_CONFIG_BYTES + 10 });
    await expect(
      client.access().getBlob(ref(), { ...img.config }, MAX_CONFIG_BYTES, AbortSignal.timeout(5_000)),
    ).rejects.toThrowWithCode('RESPONSE_TOO_LARGE');
    expect(resolved.digest).toBe(img.manifest.digest);
  });

  it('gives TOO_MANY_REDIRECTS on a redirect loop', async () => {
    proxy.inject(/^GET \/v2\/app\/blobs\//, { kind: 'redirectLoop' });
    const { err } = await failure(() =>
      client.access().getBlob(ref(), img.config, MAX_CONFIG_BYTES, AbortSignal.timeout(5_000)),
    );
    expect(err).toMatchObject({ code: 'TOO_MANY_REDIRECTS', indeterminate: true });
    expect(proxy.count(/^GET \/v2\/app\/blobs\//)).toBe(6);
  });

  it('gives REGISTRY_UNAVAILABLE when the connection resets mid-body, and caches nothing', async () => {
    proxy.inject(MANIFEST, { kind: 'resetMidBody' }, 1);
    const { err } = await failure(() => client.access().resolve(ref(), AbortSignal.timeout(5_000)));
    expect(err).toMatchObject({ code: 'REGISTRY_UNAVAILABLE', indeterminate: true });
    expect((await client.access().resolve(ref(), AbortSignal.timeout(5_000))).digest).toBe(
      img.manifest.digest,
    );
  });

  describe('when a blob redirects to another host', () => {
    let other: Server;
    let seenAuth: Array<string | undefined>;
    beforeAll(async () => {
      seenAuth = [];
      other = createServer((req, res) => {
        seenAuth.push(req.headers.authorization);
        res.writeHead(200).end(Buffer.from(img.config.bytes));
      });
      await new Promise<void>((r) => other.listen(0, 'localhost', r));
    });
    afterAll(() => new Promise<void>((r) => other.close(() => r())));

    it('refuses a plain-HTTP redirect to another host', async () => {
      const port = (other.address() as AddressInfo).port;
      proxy.inject(/^GET \/v2\/app\/blobs\//, { kind: 'redirect', to: `http://localhost:${port}/blob` });
      await expect(
        client.access().getBlob(ref(), img.config, MAX_CONFIG_BYTES, AbortSignal.timeout(5_000)),
      ).rejects.toThrowWithCode('REGISTRY_ERROR', { indeterminate: false });
      expect(seenAuth).toEqual([]);
    });
  });
});
