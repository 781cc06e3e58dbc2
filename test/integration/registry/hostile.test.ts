/**
 * The registry client against a registry an attacker controls (test/helpers/hostile-registry.ts):
 * token realms and redirects aimed elsewhere, documents that are both manifest and index, runtime
 * platform choice, and every budget: each refusal is a completed (deny) finding with its own code,
 * and refused targets are never connected to.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Connections } from '../../../src/registry/connections.js';
import {
  createRegistry,
  parseReference,
  type Registry,
  type RegistryOptions,
} from '../../../src/registry/index.js';
import {
  OCI_INDEX,
  OCI_MANIFEST,
  pushImage,
  pushIndex,
  startCountingServer,
  startHostileRegistry,
  type HostileRegistry,
} from '../../helpers/hostile-registry.js';

const never = new AbortController().signal;

describe('the registry client against a hostile registry', () => {
  let reg: HostileRegistry;
  let counting: Awaited<ReturnType<typeof startCountingServer>>;
  const clients: Registry[] = [];
  const exchanges: Array<{ registry: string; status: string }> = [];

  const client = (options: RegistryOptions = {}): Registry => {
    const c = createRegistry(
      { ...options, registries: { [reg.host]: { insecure: true }, ...(options.registries ?? {}) } },
      { onRequest: (registry, status) => exchanges.push({ registry, status }) },
    );
    clients.push(c);
    return c;
  };
  const ref = (path: string): ReturnType<typeof parseReference> => parseReference(`${reg.host}/${path}`);

  beforeAll(async () => {
    reg = await startHostileRegistry();
    counting = await startCountingServer();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    exchanges.length = 0;
  });
  afterAll(async () => {
    await reg.stop();
    await counting.stop();
  });

  const challenge = (path: RegExp, realm: string): void =>
    reg.route(path, (_req, res) => {
      res.writeHead(401, { 'www-authenticate': `Bearer realm="${realm}",service="hostile"` }).end();
    });

  describe('when the Bearer realm names the link-local metadata address', () => {
    it('refuses with AUTH_TARGET_REFUSED before any exchange with the realm', async () => {
      challenge(/^GET \/v2\/metadata\//, 'https://169.254.169.254/latest/meta-data/token');
      await expect(client().access().resolve(ref('metadata/app:1'), never)).rejects.toThrowWithCode(
        'AUTH_TARGET_REFUSED',
        { indeterminate: false },
      );
      // the 401 from the registry is the only exchange: no request (and no socket) for the token
      expect(exchanges).toEqual([{ registry: reg.host, status: '401' }]);
    });
  });

  describe('when the realm is another port and an allowlist is set', () => {
    it('refuses a realm outside the allowlist without connecting to it', async () => {
      challenge(/^GET \/v2\/otherport\//, `http://${counting.host}/token`);
      await expect(
        client({ allow: [reg.host] })
          .access()
          .resolve(ref('otherport/app:1'), never),
      ).rejects.toThrowWithCode('AUTH_TARGET_REFUSED', { indeterminate: false });
      expect(counting.connections()).toBe(0);
    });

    it('contacts it once the operator allows it as an auth host (--allow-auth-host)', async () => {
      await expect(
        client({ allow: [reg.host], allowAuth: [counting.host] })
          .access()
          .resolve(ref('otherport/app:1'), never),
      ).rejects.toMatchObject({ code: expect.not.stringMatching(/^AUTH_TARGET_REFUSED$/) });
      expect(counting.connections()).toBeGreaterThan(0);
    });
  });

  describe('when basic credentials would go over plain HTTP to another host', () => {
    it('refuses before sending them', async () => {
      const before = counting.connections();
      const port = counting.host.split(':')[1]!;
      challenge(/^GET \/v2\/creds\//, `http://localhost:${port}/token`);
      const c = client({
        credentials: {
          name: 'test',
          credentialsFor: () => Promise.resolve({ kind: 'basic', username: 'u', password: 'secret' }),
        },
      });
      await expect(c.access().resolve(ref('creds/app:1'), never)).rejects.toThrowWithCode(
        'AUTH_TARGET_REFUSED',
        { indeterminate: false },
      );
      expect(counting.connections()).toBe(before);
    });
  });

  describe('when a redirect points at a link-local address', () => {
    it('refuses with REDIRECT_REFUSED', async () => {
      const image = pushImage(reg, 'redirect/app', '1');
      reg.route(/^GET \/v2\/redirect\/app\/blobs\//, (_req, res) => {
        res.writeHead(307, { location: 'https://169.254.169.254/latest/meta-data/' }).end();
      });
      const access = client().access();
      const m = await access.getManifest(ref('redirect/app'), image.digest, never);
      expect(m.kind).toBe('image');
      if (m.kind !== 'image') return;
      await expect(
        access.getBlob(ref('redirect/app'), m.json.config, 1 << 20, never),
      ).rejects.toThrowWithCode('REDIRECT_REFUSED', { indeterminate: false });
    });
  });

  describe('when a document is both an image manifest and an index', () => {
    const layer = { mediaType: 'application/octet-stream', digest: `sha256:${'a'.repeat(64)}`, size: 1 };
    const cases: Array<[string, object, string | undefined]> = [
      [
        'declared a manifest, carrying manifests too',
        { schemaVersion: 2, mediaType: OCI_MANIFEST, config: layer, layers: [layer], manifests: [layer] },
        undefined,
      ],
      [
        'declared an index, carrying layers',
        { schemaVersion: 2, mediaType: OCI_INDEX, config: layer, layers: [layer] },
        undefined,
      ],
      ['an index served as an image manifest', { schemaVersion: 2, manifests: [layer] }, OCI_MANIFEST],
    ];
    it.each(cases)('rejects %s with MANIFEST_MEDIA_TYPE_MISMATCH', async (name, doc, contentType) => {
      const tag = name.replace(/[^a-z]+/g, '-');
      reg.manifest('confused/app', doc, { tag, ...(contentType !== undefined ? { contentType } : {}) });
      await expect(
        client()
          .access()
          .resolve(ref(`confused/app:${tag}`), never),
      ).rejects.toThrowWithCode('MANIFEST_MEDIA_TYPE_MISMATCH', { indeterminate: false });
    });
  });

  describe('when an index lists several entries for the checked platform', () => {
    it('checks every entry a runtime could select (linux/amd64 and its v3 variant)', async () => {
      pushIndex(reg, 'variants/app', '1', 3, {
        platform: (i) =>
          [
            { os: 'linux', architecture: 'amd64' },
            { os: 'linux', architecture: 'amd64', variant: 'v3' },
            { os: 'linux', architecture: 'arm64' },
          ][i],
      });
      const resolved = await client().access().resolve(ref('variants/app:1'), never);
      const images = await resolved.platforms(['linux/amd64'], never);
      expect(images.map((i) => i.platform)).toEqual(['linux/amd64', 'linux/amd64/v3']);
    });
  });

  describe('budgets', () => {
    it('denies an index of 100 platforms under [all] with BUDGET_PLATFORMS, fetching none of them', async () => {
      pushIndex(reg, 'wide/app', '1', 100);
      reg.resetCounts();
      const resolved = await client().access().resolve(ref('wide/app:1'), never);
      await expect(resolved.platforms(['all'], never)).rejects.toThrowWithCode('BUDGET_PLATFORMS', {
        indeterminate: false,
      });
      expect(reg.log.filter((l) => l.includes('/manifests/sha256:'))).toEqual([]);
    });

    it('denies an index of 10,000 entries with BUDGET_INDEX_MANIFESTS when it is read, fetching none of them', async () => {
      pushIndex(reg, 'wider/app', '1', 10_000);
      reg.resetCounts();
      await expect(client().access().resolve(ref('wider/app:1'), never)).rejects.toThrowWithCode(
        'BUDGET_INDEX_MANIFESTS',
        { indeterminate: false, message: expect.stringMatching(/lists 10000 manifests, more than the 1024/) },
      );
      expect(reg.log.filter((l) => l.includes('/manifests/sha256:'))).toEqual([]);
    });

    it('denies the image past maxImagesPerReview with BUDGET_IMAGES', async () => {
      for (let i = 0; i < 3; i++) pushImage(reg, `many/app${i}`, '1');
      const access = client({ limits: { maxImagesPerReview: 2 } }).access();
      await access.resolve(ref('many/app0:1'), never);
      await access.resolve(ref('many/app1:1'), never);
      await access.resolve(ref('many/app0:1'), never); // the same image again is not another one
      await expect(access.resolve(ref('many/app2:1'), never)).rejects.toThrowWithCode('BUDGET_IMAGES', {
        indeterminate: false,
      });
    });

    it('denies a manifest with more layers than maxLayersPerManifest with BUDGET_LAYERS', async () => {
      const layer = reg.blob('x');
      const config = reg.blob('{}', 'application/vnd.oci.image.config.v1+json');
      reg.manifest(
        'layers/app',
        { schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: Array(20).fill(layer) },
        { tag: '1' },
      );
      await expect(
        client({ limits: { maxLayersPerManifest: 10 } })
          .access()
          .resolve(ref('layers/app:1'), never),
      ).rejects.toThrowWithCode('BUDGET_LAYERS', { indeterminate: false });
    });

    it('denies a review that would buffer more than its share with BUDGET_BYTES_IN_FLIGHT', async () => {
      pushIndex(reg, 'heavy/app', '1', 8, {
        entryBytes: 256 * 1024,
        platform: (i) => ({ os: 'linux', architecture: 'amd64', variant: `v${i}` }),
      });
      const access = client({ limits: { maxBytesPerReview: 1024 * 1024 } }).access();
      const resolved = await access.resolve(ref('heavy/app:1'), never);
      await expect(resolved.platforms(['linux/amd64'], never)).rejects.toThrowWithCode(
        'BUDGET_BYTES_IN_FLIGHT',
        { indeterminate: false },
      );
    });

    it('never opens more sockets to one registry than maxConnectionsPerRegistry', async () => {
      const image = pushImage(reg, 'slow/app', '1');
      reg.route(/^GET \/v2\/slow\/app\/blobs\//, (_req, res) => {
        setTimeout(() => res.writeHead(404).end(), 50);
      });
      const c = client({ limits: { maxConnectionsPerRegistry: 2 } });
      const access = c.access();
      const m = await access.getManifest(ref('slow/app'), image.digest, never);
      if (m.kind !== 'image') throw new Error('expected an image');
      reg.resetCounts();
      const digests = Array.from({ length: 20 }, (_, i) => `sha256:${String(i).padStart(64, '0')}`);
      await Promise.allSettled(
        digests.map((digest) => access.getBlob(ref('slow/app'), { ...m.json.config, digest }, 1024, never)),
      );
      expect(reg.log.length).toBe(20);
      expect(reg.sockets.peak).toBeLessThanOrEqual(2);
      expect(reg.sockets.total).toBeGreaterThan(0);
    });
  });

  describe('when connection slots stay busy until the deadline', () => {
    const stallBlobs = (repo: string): void =>
      reg.route(new RegExp(`^GET /v2/${repo}/blobs/`), () => {
        // never answers: the one slot stays busy
      });
    const blob = (n: number) => ({
      mediaType: 'application/octet-stream',
      size: 1,
      digest: `sha256:${String(n).padStart(64, '0')}`,
    });

    it("one registry's own slots: BUDGET_CONNECTIONS, indeterminate (onError decides, as for a timeout)", async () => {
      stallBlobs('busy-host/app');
      const access = client({ limits: { maxConnectionsPerRegistry: 1 } }).access({
        deadline: Date.now() + 1_000,
      });
      const holder = new AbortController();
      access.getBlob(ref('busy-host/app'), blob(1), 1024, holder.signal).catch(() => undefined);
      await expect(access.getBlob(ref('busy-host/app'), blob(2), 1024, never)).rejects.toThrowWithCode(
        'BUDGET_CONNECTIONS',
        { indeterminate: true, message: expect.stringContaining('maxConnectionsPerRegistry') },
      );
      holder.abort();
    });

    it('the total shared by all registries: BUDGET_CONNECTIONS, a completed finding whatever onError says', async () => {
      stallBlobs('busy-total/app');
      const other = reg.host.replace('127.0.0.1', 'localhost');
      const access = client({
        limits: { maxConnections: 1 },
        registries: { [other]: { insecure: true } },
      }).access({ deadline: Date.now() + 1_000 });
      const holder = new AbortController();
      access.getBlob(ref('busy-total/app'), blob(1), 1024, holder.signal).catch(() => undefined);
      await expect(
        access.getBlob(parseReference(`${other}/busy-total/app`), blob(2), 1024, never),
      ).rejects.toThrowWithCode('BUDGET_CONNECTIONS', {
        indeterminate: false,
        message: expect.stringContaining('maxConnections)'),
      });
      holder.abort();
    });
  });

  describe('metric labels', () => {
    it('name registries the operator named (allowlist, registry config, mirrors) and aggregate the rest', async () => {
      pushImage(reg, 'labels/app', '1');
      await client().access().resolve(ref('labels/app:1'), never);
      expect(exchanges.map((e) => e.registry)).toEqual([reg.host]);
      const c = new Connections(
        { allow: ['*.corp.example'], registries: { 'a.example': { mirrors: ['m.example'] } } },
        {},
      );
      const labels = [
        'a.example',
        'm.example',
        'r.corp.example',
        'x1.attacker.example',
        'x2.attacker.example',
      ];
      expect(labels.map((h) => c.metricLabel(h))).toEqual([
        'a.example',
        'm.example',
        'r.corp.example',
        'other',
        'other',
      ]);
      await c.close();
    });
  });
});
