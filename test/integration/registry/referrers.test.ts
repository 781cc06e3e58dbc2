/**
 * The referrers lookup remembers per registry host that the referrers API is absent (distribution 2.8
 * answers 404) and then goes straight to the `sha256-<hex>` tag; concurrent first lookups share one
 * probe; a registry that answers the API with an index is asked through it every time. Requests are
 * counted at a proxy in front of the real registry.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRegistry, type Registry } from '../../../src/registry/client.js';
import { parseReference } from '../../../src/registry/reference.js';
import { DEFAULT_REFERRERS_API_TTL_MS } from '../../../src/registry/referrers.js';
import { startFaultProxy, type FaultProxy } from '../../helpers/fault-proxy.js';
import { buildImage, pushImage, pushManifest, type BuiltImage } from '../../helpers/image-builder.js';
import { useRegistry } from '../../helpers/use-registry.js';

const signal = (): AbortSignal => AbortSignal.timeout(5_000);
const API = /^GET \/v2\/app\/referrers\//;
const TAG = /^GET \/v2\/app\/manifests\/sha256-[0-9a-f]{64}$/;
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

function indexOf(artifact: BuiltImage): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        {
          mediaType: artifact.manifest.mediaType,
          digest: artifact.manifest.digest,
          size: artifact.manifest.size,
          artifactType: 'application/vnd.example.sig',
        },
      ],
    }),
  );
}

describe('referrers lookups', () => {
  const reg = useRegistry();
  let proxy: FaultProxy;
  let client: Registry;
  let subjects: string[];
  let artifact: BuiltImage;
  /** The registry client's clock: tests move it past the TTL instead of sleeping. */
  let now = 0;

  beforeAll(async () => {
    proxy = await startFaultProxy(reg.url);
    artifact = buildImage({ steps: [{ createdBy: 'sig', files: { sig: 'x' } }] });
    await pushImage(reg.url, 'app', artifact.manifest.digest, artifact);
    subjects = [];
    for (let i = 0; i < 20; i++) {
      const img = buildImage({ steps: [{ createdBy: `ADD ${i} /`, files: { n: String(i) } }] });
      await pushImage(reg.url, 'app', `v${i}`, img);
      subjects.push(img.manifest.digest);
    }
    // The tag fallback of the first subject lists the artifact.
    const bytes = indexOf(artifact);
    await pushManifest(reg.url, 'app', subjects[0]!.replace(':', '-'), {
      mediaType: OCI_INDEX,
      digest: '',
      size: 0,
      bytes,
    });
  });
  afterAll(async () => {
    await proxy?.stop();
  });
  beforeEach(() => {
    proxy.clear();
    now = Date.now();
    client = createRegistry({ registries: { [proxy.host]: { insecure: true } }, now: () => now });
  });
  afterEach(() => client.close());

  const lookup = (digest: string) =>
    client.access().getReferrers(parseReference(`${proxy.host}/app:v1`), digest, undefined, signal());

  describe('on a registry without the referrers API (distribution 2.8)', () => {
    it('asks the API once, then goes straight to the tag for the next digest', async () => {
      expect((await lookup(subjects[0]!)).map((d) => d.digest)).toEqual([artifact.manifest.digest]);
      expect([proxy.count(API), proxy.count(TAG)]).toEqual([1, 1]);
      proxy.clear();
      expect(await lookup(subjects[1]!)).toEqual([]);
      expect([proxy.count(API), proxy.count(TAG)]).toEqual([0, 1]);
    });

    it('shares one probe between concurrent first lookups (a fresh process’s first 20-image pod)', async () => {
      const found = await Promise.all(subjects.map((d) => lookup(d)));
      expect(found[0]!.map((d) => d.digest)).toEqual([artifact.manifest.digest]);
      expect(found.slice(1).every((f) => f.length === 0)).toBe(true);
      expect([proxy.count(API), proxy.count(TAG)]).toEqual([1, 20]);
    });

    it('asks the API again once the answer is older than the TTL', async () => {
      await lookup(subjects[0]!);
      now += DEFAULT_REFERRERS_API_TTL_MS - 1_000;
      await lookup(subjects[1]!);
      expect(proxy.count(API)).toBe(1);
      now += 2_000;
      await lookup(subjects[2]!);
      expect([proxy.count(API), proxy.count(TAG)]).toEqual([2, 3]);
    });

    it('remembers nothing from a failed probe', async () => {
      proxy.inject(API, { kind: 'status', status: 500 }, 1);
      await expect(lookup(subjects[0]!)).rejects.toThrowWithCode('REGISTRY_UNAVAILABLE');
      await lookup(subjects[1]!);
      expect([proxy.count(API), proxy.count(TAG)]).toEqual([2, 1]);
    });
  });

  describe('on a registry with the referrers API', () => {
    it('asks the API for every digest and never the tag', async () => {
      proxy.inject(API, {
        kind: 'status',
        status: 200,
        headers: { 'content-type': OCI_INDEX },
        body: indexOf(artifact).toString(),
      });
      for (const d of subjects.slice(0, 3)) {
        expect((await lookup(d)).map((x) => x.digest)).toEqual([artifact.manifest.digest]);
      }
      const concurrent = await Promise.all(subjects.slice(3).map((d) => lookup(d)));
      expect(concurrent.every((f) => f.length === 1)).toBe(true);
      expect([proxy.count(API), proxy.count(TAG)]).toEqual([20, 0]);
    });
  });
});
