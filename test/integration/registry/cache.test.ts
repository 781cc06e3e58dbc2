import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRegistry, type Registry } from '../../../src/registry/client.js';
import { parseReference } from '../../../src/registry/reference.js';
import { startFaultProxy, type FaultProxy } from '../../helpers/fault-proxy.js';
import {
  buildImage,
  buildIndex,
  pushImage,
  pushIndex,
  type BuiltImage,
} from '../../helpers/image-builder.js';
import { useRegistry } from '../../helpers/use-registry.js';

const signal = (): AbortSignal => AbortSignal.timeout(5_000);
const MANIFEST_GET = /^GET \/v2\/app\/manifests\//;

describe('registry caching, dedup, allowlist and mirrors', () => {
  const reg = useRegistry();
  let proxy: FaultProxy;
  let img: BuiltImage;
  let client: Registry;
  /** The registry client's clock: tests move it past TTLs instead of sleeping. */
  let now = 0;

  beforeAll(async () => {
    proxy = await startFaultProxy(reg.url);
    img = buildImage({ steps: [{ createdBy: 'ADD x /', files: { x: 'cache' } }] });
    await pushImage(reg.url, 'app', 'v1', img);
    const arm = buildImage({
      platform: 'linux/arm64',
      steps: [{ createdBy: 'ADD x /', files: { x: 'arm' } }],
    });
    await pushIndex(reg.url, 'app', 'multi', buildIndex([img, arm]));
  });
  afterAll(async () => {
    await proxy?.stop();
  });
  beforeEach(() => {
    proxy.clear();
    now = Date.now();
    client = createRegistry({
      registries: { [proxy.host]: { insecure: true } },
      tagTtlMs: 2000,
      now: () => now,
    });
  });
  afterEach(() => client.close());

  describe('when many reviews resolve the same image at once', () => {
    it('sends one manifest request and one config request', async () => {
      const ref = parseReference(`${proxy.host}/app:v1`);
      const results = await Promise.all(
        Array.from({ length: 20 }, async () => {
          const resolved = await client.access().resolve(ref, signal());
          return (await resolved.platforms(['linux/amd64'], signal()))[0]?.configDigest;
        }),
      );
      expect(new Set(results)).toEqual(new Set([img.config.digest]));
      expect(proxy.count(MANIFEST_GET)).toBe(1);
      expect(proxy.count(/^GET \/v2\/app\/blobs\//)).toBe(1);
    });

    it('does not fail the others when one caller gives up', async () => {
      proxy.inject(MANIFEST_GET, { kind: 'delay', ms: 200 }, 1);
      const ref = parseReference(`${proxy.host}/app:v1`);
      const a = client.access().resolve(ref, AbortSignal.timeout(50));
      const b = client.access().resolve(ref, signal());
      await expect(a).rejects.toThrowWithCode('TIMEOUT');
      expect((await b).digest).toBe(img.manifest.digest);
      expect(proxy.count(MANIFEST_GET)).toBe(1);
    });
  });

  describe('when the tag TTL has passed', () => {
    it('revalidates the tag with HEAD and reuses the cached manifest', async () => {
      const ref = parseReference(`${proxy.host}/app:v1`);
      await client.access().resolve(ref, signal());
      await client.access().resolve(ref, signal());
      expect(proxy.log.filter((l) => l.includes('/manifests/'))).toEqual(['GET /v2/app/manifests/v1']);
      now += 2001; // the tag TTL has passed
      const again = await client.access().resolve(ref, signal());
      expect(again.digest).toBe(img.manifest.digest);
      expect(proxy.log.filter((l) => l.includes('/manifests/'))).toEqual([
        'GET /v2/app/manifests/v1',
        'HEAD /v2/app/manifests/v1',
      ]);
    });

    it('sees a moved tag after the TTL', async () => {
      const ref = parseReference(`${proxy.host}/app:moving`);
      const first = buildImage({ steps: [{ createdBy: 'one', files: { v: '1' } }] });
      const second = buildImage({ steps: [{ createdBy: 'two', files: { v: '2' } }] });
      await pushImage(reg.url, 'app', 'moving', first);
      expect((await client.access().resolve(ref, signal())).digest).toBe(first.manifest.digest);
      await pushImage(reg.url, 'app', 'moving', second);
      expect((await client.access().resolve(ref, signal())).digest).toBe(first.manifest.digest);
      now += 2001; // the tag TTL has passed
      expect((await client.access().resolve(ref, signal())).digest).toBe(second.manifest.digest);
    });
  });

  describe('after a fault', () => {
    it('does not keep a poisoned entry: the next request refetches and verifies', async () => {
      proxy.inject(MANIFEST_GET, { kind: 'wrongBytes' }, 1);
      const ref = parseReference(`${proxy.host}/app@${img.manifest.digest}`);
      await expect(client.access().resolve(ref, signal())).rejects.toThrowWithCode('DIGEST_MISMATCH');
      expect((await client.access().resolve(ref, signal())).digest).toBe(img.manifest.digest);
      expect(proxy.count(MANIFEST_GET)).toBe(2);
    });

    it('does not keep a failed platform fetch on the resolved image', async () => {
      const resolved = await client.access().resolve(parseReference(`${proxy.host}/app:multi`), signal());
      proxy.inject(MANIFEST_GET, { kind: 'status', status: 503 }, 1);
      await expect(resolved.platforms(['linux/arm64'], signal())).rejects.toThrowWithCode(
        'REGISTRY_UNAVAILABLE',
      );
      expect((await resolved.platforms(['linux/arm64'], signal()))[0]?.platform).toBe('linux/arm64');
    });
  });

  describe('with an allowlist', () => {
    it('refuses a registry outside it without any connection', async () => {
      const allowed = createRegistry({
        allow: ['ghcr.io'],
        registries: { [proxy.host]: { insecure: true } },
      });
      await expect(
        allowed.access().resolve(parseReference(`${proxy.host}/app:v1`), signal()),
      ).rejects.toThrowWithCode('REGISTRY_NOT_ALLOWED', { indeterminate: true });
      await expect(
        allowed
          .access()
          .getReferrers(parseReference(`${proxy.host}/app:v1`), img.manifest.digest, undefined, signal()),
      ).rejects.toThrowWithCode('REGISTRY_NOT_ALLOWED');
      expect(proxy.log).toEqual([]);
      await allowed.close();
    });

    it('contacts a registry inside it', async () => {
      const allowed = createRegistry({
        allow: [proxy.host],
        registries: { [proxy.host]: { insecure: true } },
      });
      expect((await allowed.access().resolve(parseReference(`${proxy.host}/app:v1`), signal())).digest).toBe(
        img.manifest.digest,
      );
      await allowed.close();
    });
  });

  describe('with a mirror', () => {
    it('reads through the mirror and falls back to the registry when the mirror fails', async () => {
      const mirrored = createRegistry({
        allow: [reg.host],
        registries: {
          [reg.host]: { insecure: true, mirrors: [proxy.host] },
          [proxy.host]: { insecure: true },
        },
      });
      const ref = parseReference(`${reg.host}/app:v1`);
      expect((await mirrored.access().resolve(ref, signal())).digest).toBe(img.manifest.digest);
      expect(proxy.count(MANIFEST_GET)).toBe(1);
      proxy.inject(/^GET \/v2\/app\/blobs\//, { kind: 'status', status: 502 });
      const [p] = await (await mirrored.access().resolve(ref, signal())).platforms(['linux/amd64'], signal());
      expect(p?.configDigest).toBe(img.config.digest);
      expect(proxy.count(/^GET \/v2\/app\/blobs\//)).toBe(1);
      await mirrored.close();
    });
  });
});
