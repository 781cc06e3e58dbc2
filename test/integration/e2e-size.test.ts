/**
 * End to end, issue 3: the CLI and the HTTPS webhook built by setupEngine (real registry client,
 * real size compiler) against a real registry on loopback. The same image gets the same decision from
 * `imagegate check` and `POST /validate`; `POST /mutate` pins tags to the digest that `/validate` then
 * checks; OCI layouts; the allowlist; a stopped or silent registry.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Setup } from '../../src/cli/setup.js';
import { podReview } from '../helpers/admission-fixtures.js';
import { imagegate } from '../helpers/cli.js';
import { buildEngine, writePolicyFile } from '../helpers/engine.js';
import { fixturePath, HAVE_FIXTURES } from '../helpers/fixtures.js';
import { buildImage, pushImage, pushManifest, type BuiltImage } from '../helpers/image-builder.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { startServer, type TestServer } from '../helpers/server.js';

const HEAVY_STEPS = [
  { createdBy: 'ADD alpine-minirootfs.tar.gz / # buildkit', randomBytes: 20_000 },
  { createdBy: '/bin/sh -c #(nop)  ENV NODE_ENV=production' },
  { createdBy: 'RUN /bin/sh -c npm install # buildkit', randomBytes: 300_000 },
  { createdBy: 'COPY . /app # buildkit', randomBytes: 100_000 },
  { createdBy: '/bin/sh -c #(nop)  CMD ["node","server.js"]' },
];
const LIGHT_STEPS = [
  { createdBy: 'ADD alpine-minirootfs.tar.gz / # buildkit', randomBytes: 20_000 },
  { createdBy: 'COPY server.js /app/ # buildkit', randomBytes: 10_000 },
];

/** One policy per registry, 256 KiB limit; `onError` as given. */
function sizePolicy(name: string, glob: string, onError: 'deny' | 'allow'): string {
  return `---
apiVersion: imagegate.dev/v1alpha1
kind: ImagePolicy
metadata:
  name: ${name}
spec:
  mode: enforce
  images:
    - glob: "${glob}"
  onError: ${onError}
  size:
    maxCompressed: 256Ki
    maxLayers: 10
`;
}

/** The heaviest-layers explanation for HEAVY_STEPS, as the size check words it. */
const HEAVY_EXPLANATION =
  /linux\/amd64: [\d.]+ KiB compressed, over the 256 KiB limit of policy app-size; heaviest: layer 2 \([\d.]+ KiB compressed\): RUN npm install — consider a multi-stage build; layer 3 \([\d.]+ KiB compressed\): COPY \. \/app; layer 1 \([\d.]+ KiB compressed\): ADD alpine-minirootfs\.tar\.gz \//;

interface PatchOp {
  op: string;
  path: string;
  value: unknown;
}

function decodePatch(response: Record<string, unknown>): PatchOp[] {
  expect(response.patchType).toBe('JSONPatch');
  return JSON.parse(Buffer.from(String(response.patch), 'base64').toString('utf8')) as PatchOp[];
}

/** RFC 6902 `replace` as the API server applies it: the target must exist. */
function applyPatch<T>(object: T, ops: PatchOp[]): T {
  const copy = structuredClone(object) as Record<string, unknown>;
  for (const op of ops) {
    expect(op.op).toBe('replace');
    const keys = op.path
      .split('/')
      .slice(1)
      .map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
    let node: Record<string, unknown> = copy;
    for (const k of keys.slice(0, -1)) node = node[k] as Record<string, unknown>;
    const last = keys[keys.length - 1]!;
    expect(node[last], `${op.path} exists`).toBeTypeOf('string');
    node[last] = op.value;
  }
  return copy as T;
}

/** A TCP server that counts connections and never answers (a black hole). */
async function silentServer(): Promise<{ host: string; connections: () => number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((s) => {
    connections += 1;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return {
    host: `127.0.0.1:${address.port}`,
    connections: () => connections,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('imagegate end to end: size, pinning and registry faults', () => {
  let reg: TestRegistry;
  let heavy: BuiltImage;
  let light: BuiltImage;
  let policyFile: string;

  beforeAll(async () => {
    reg = await startRegistry();
    heavy = buildImage({ steps: HEAVY_STEPS });
    light = buildImage({ steps: LIGHT_STEPS });
    await pushImage(reg.url, 'team/app', '1', heavy);
    await pushImage(reg.url, 'team/app', 'small', light);
    await pushImage(reg.url, 'team/pinned', 'moving', heavy);
    await pushImage(reg.url, 'team/pinned', 'other', light);
    policyFile = await writePolicyFile(sizePolicy('app-size', `${reg.host}/**`, 'deny'));
  });
  afterAll(async () => {
    await reg?.stop();
  });

  describe('imagegate check against the registry', () => {
    it('denies an image over the limit, names the heaviest layers and their build steps, exits 1', async () => {
      const run = await imagegate([
        'check',
        '--policy',
        policyFile,
        '--insecure-registry',
        reg.host,
        `${reg.host}/team/app:1`,
      ]);
      expect(run.code, run.stderr).toBe(1);
      expect(run.stdout).toContain(`✗ ${reg.host}/team/app:1@${heavy.manifest.digest}`);
      expect(run.stdout).toContain('policy app-size (enforce): fail');
      expect(run.stdout).toMatch(HEAVY_EXPLANATION);
      expect(run.stdout).toContain('[SIZE_EXCEEDED]');
      expect(run.stdout.trimEnd().endsWith('result: denied (1 reason)')).toBe(true);
    });

    it('allows an image within the limit and exits 0', async () => {
      const run = await imagegate([
        'check',
        '--policy',
        policyFile,
        '--insecure-registry',
        reg.host,
        '--output',
        'json',
        `${reg.host}/team/app:small`,
      ]);
      expect(run.code, run.stderr).toBe(0);
      const out = JSON.parse(run.stdout) as { allowed: boolean; images: { digest: string }[] };
      expect(out.allowed).toBe(true);
      expect(out.images[0]?.digest).toBe(light.manifest.digest);
    });
  });

  describe('the webhook built by setupEngine', () => {
    let setup: Setup;
    let server: TestServer;

    beforeAll(async () => {
      setup = await buildEngine({ policy: [policyFile], insecureRegistry: [reg.host] });
      server = await startServer({ engine: setup.engine, mutate: true });
    });
    afterAll(async () => {
      await server?.close();
      await setup?.registry.close();
    });

    it('/validate gives the CLI decision with the same explanation', async () => {
      const denied = await server.post('/validate?timeout=10s', podReview([`${reg.host}/team/app:1`]));
      expect(denied.status).toBe(200);
      const response = (denied.json as { response: Record<string, unknown> }).response;
      expect(response.allowed).toBe(false);
      const status = response.status as { code: number; message: string };
      expect(status.code).toBe(403);
      expect(status.message).toMatch(HEAVY_EXPLANATION);
      expect(status.message).toContain('size SIZE_EXCEEDED');

      const allowed = await server.post('/validate?timeout=10s', podReview([`${reg.host}/team/app:small`]));
      expect((allowed.json as { response: { allowed: boolean } }).response.allowed).toBe(true);
      expect(server.audit.at(-1)?.images[0]?.digest).toBe(light.manifest.digest);
    });

    it('/mutate pins every tag-only image of a Pod at its JSON pointer, and leaves digests alone', async () => {
      const review = podReview([`${reg.host}/team/app:1`, `${reg.host}/team/app@${light.manifest.digest}`]);
      const spec = (review.request.object as { spec: Record<string, unknown> }).spec;
      spec.initContainers = [{ name: 'init', image: `${reg.host}/team/app:small` }];
      const res = await server.post('/mutate?timeout=10s', review);
      expect(res.status).toBe(200);
      const response = (res.json as { response: Record<string, unknown> }).response;
      expect(response).toMatchObject({ uid: review.request.uid, allowed: true });
      expect(decodePatch(response)).toEqual([
        {
          op: 'replace',
          path: '/spec/containers/0/image',
          value: `${reg.host}/team/app:1@${heavy.manifest.digest}`,
        },
        {
          op: 'replace',
          path: '/spec/initContainers/0/image',
          value: `${reg.host}/team/app:small@${light.manifest.digest}`,
        },
      ]);
    });

    it('/mutate pins a Deployment under spec.template.spec and warns about an image it cannot resolve', async () => {
      const deployment = {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', namespace: 'default' },
        spec: {
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: {
              containers: [
                { name: 'web', image: `${reg.host}/team/app:small` },
                { name: 'gone', image: `${reg.host}/team/app:missing` },
              ],
            },
          },
        },
      };
      const res = await server.post('/mutate?timeout=10s', {
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: {
          uid: 'mutate-deployment',
          kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
          resource: { group: 'apps', version: 'v1', resource: 'deployments' },
          namespace: 'default',
          operation: 'CREATE',
          userInfo: { username: 'alice' },
          object: deployment,
        },
      });
      const response = (res.json as { response: Record<string, unknown> }).response;
      expect(response.allowed).toBe(true);
      expect(decodePatch(response)).toEqual([
        {
          op: 'replace',
          path: '/spec/template/spec/containers/0/image',
          value: `${reg.host}/team/app:small@${light.manifest.digest}`,
        },
      ]);
      expect(response.warnings).toEqual([
        expect.stringMatching(/team\/app:missing was not pinned to a digest \(MANIFEST_UNKNOWN\)/),
      ]);
    });

    it('/validate checks exactly the pinned digest, even after the tag moved', async () => {
      const review = podReview([`${reg.host}/team/pinned:moving`]);
      const mutated = await server.post('/mutate?timeout=10s', review);
      const ops = decodePatch((mutated.json as { response: Record<string, unknown> }).response);
      expect(ops).toEqual([
        {
          op: 'replace',
          path: '/spec/containers/0/image',
          value: `${reg.host}/team/pinned:moving@${heavy.manifest.digest}`,
        },
      ]);
      // The tag moves to a small image between admission and validation.
      await pushManifest(reg.url, 'team/pinned', 'moving', light.manifest);
      const patched = {
        ...review,
        request: { ...review.request, object: applyPatch(review.request.object, ops) },
      };
      const res = await server.post('/validate?timeout=10s', patched);
      const response = (res.json as { response: { allowed: boolean; status?: { message: string } } })
        .response;
      expect(response.allowed).toBe(false);
      expect(response.status?.message).toContain('SIZE_EXCEEDED');
      const record = server.audit.at(-1)!;
      expect(record.uid).toBe(review.request.uid);
      expect(record.images[0]).toMatchObject({
        image: `${reg.host}/team/pinned:moving@${heavy.manifest.digest}`,
        digest: heavy.manifest.digest,
      });
    });
  });

  describe.skipIf(!HAVE_FIXTURES)('imagegate check on OCI layouts', () => {
    it('checks the apko base layout (multi-arch index.json) and exits 0', async () => {
      const file = await writePolicyFile(sizePolicy('layouts', 'oci-layout/**', 'deny'));
      const layout = fixturePath('oci-images', 'apko-base_image');
      const run = await imagegate(['check', '--policy', file, `oci:${layout}`]);
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(run.stdout).toMatch(/ok {3}size: linux\/amd64: [\d.]+ (KiB|MiB) compressed in 1 layers/);
      expect(run.stdout).toContain('result: allowed');
    });

    it('denies a layout image over the limit, matched by the name it will be pushed as (--as)', async () => {
      const file = await writePolicyFile(
        sizePolicy('layouts', 'registry.example.com/team/**', 'deny').replace('256Ki', '1Ki'),
      );
      const run = await imagegate([
        'check',
        '--policy',
        file,
        '--as',
        'registry.example.com/team/top:1',
        `oci:${fixturePath('oci-images', 'apko-top_image')}`,
      ]);
      expect(run.code, run.stdout + run.stderr).toBe(1);
      expect(run.stdout).toMatch(
        /FAIL size: linux\/amd64: .* over the 1 KiB limit of policy layouts; heaviest: layer 1/,
      );
    });
  });

  describe('an image on a registry outside --allow-registry', () => {
    let other: Awaited<ReturnType<typeof silentServer>>;
    let file: string;

    beforeAll(async () => {
      other = await silentServer();
      file = await writePolicyFile(
        sizePolicy('strict', `${other.host}/strict/**`, 'deny') +
          sizePolicy('lenient', `${other.host}/lenient/**`, 'allow'),
      );
    });
    afterAll(async () => {
      await other?.close();
    });

    it('is never contacted; onError deny denies with REGISTRY_NOT_ALLOWED, onError allow warns', async () => {
      const args = [
        'check',
        '--policy',
        file,
        '--allow-registry',
        reg.host,
        '--insecure-registry',
        other.host,
      ];
      const strict = await imagegate([...args, `${other.host}/strict/app:1`]);
      expect(strict.code, strict.stderr).toBe(1);
      expect(strict.stdout).toMatch(/err {2}resolve: .*not in the allowlist.* \[REGISTRY_NOT_ALLOWED\]/);
      const lenient = await imagegate([...args, `${other.host}/lenient/app:1`]);
      expect(lenient.code, lenient.stderr).toBe(0);
      expect(lenient.stdout).toMatch(
        /warning: .*lenient\/app:1 not fully checked by lenient \(allowed by onError\)/,
      );
      expect(other.connections()).toBe(0);
    });
  });

  describe('when the registry is stopped or silent', () => {
    let down: TestRegistry;
    let silent: Awaited<ReturnType<typeof silentServer>>;
    let setup: Setup;
    let server: TestServer;
    let file: string;

    beforeAll(async () => {
      down = await startRegistry();
      await pushImage(down.url, 'strict/app', '1', light);
      silent = await silentServer();
      file = await writePolicyFile(
        sizePolicy('down-strict', `${down.host}/strict/**`, 'deny') +
          sizePolicy('down-lenient', `${down.host}/lenient/**`, 'allow') +
          sizePolicy('silent-strict', `${silent.host}/**`, 'deny'),
      );
      setup = await buildEngine({ policy: [file], insecureRegistry: [down.host, silent.host] });
      server = await startServer({ engine: setup.engine });
      await down.stop();
    });
    afterAll(async () => {
      await server?.close();
      await setup?.registry.close();
      await silent?.close();
    });

    it('/validate decides per onError, well within the deadline', async () => {
      const t0 = Date.now();
      const strict = await server.post('/validate?timeout=3s', podReview([`${down.host}/strict/app:1`]));
      const response = (strict.json as { response: { allowed: boolean; status?: { message: string } } })
        .response;
      expect(response.allowed).toBe(false);
      expect(response.status?.message).toContain('REGISTRY_UNAVAILABLE');
      const lenient = await server.post('/validate?timeout=3s', podReview([`${down.host}/lenient/app:1`]));
      const allowed = (lenient.json as { response: { allowed: boolean; warnings?: string[] } }).response;
      expect(allowed.allowed).toBe(true);
      expect(allowed.warnings).toEqual([expect.stringContaining('(allowed by onError)')]);
      expect(Date.now() - t0).toBeLessThan(3_000);
    });

    it('/validate answers before the API server gives up when the registry never answers', async () => {
      const t0 = Date.now();
      const res = await server.post('/validate?timeout=2s', podReview([`${silent.host}/app:1`]));
      const ms = Date.now() - t0;
      const response = (res.json as { response: { allowed: boolean; status?: { message: string } } })
        .response;
      expect(response.allowed).toBe(false);
      expect(response.status?.message).toContain('TIMEOUT');
      expect(ms).toBeLessThan(2_000);
      expect(silent.connections()).toBeGreaterThan(0);
    });

    it('imagegate check decides per onError: the strict image fails, the lenient one is a warning', async () => {
      const run = await imagegate([
        'check',
        '--policy',
        file,
        '--insecure-registry',
        down.host,
        `${down.host}/strict/app:1`,
        `${down.host}/lenient/app:1`,
      ]);
      expect(run.code, run.stderr).toBe(1);
      expect(run.stdout).toMatch(
        /policy down-strict \(enforce\): fail\n {4}err {2}resolve: .*\[REGISTRY_UNAVAILABLE\]/,
      );
      expect(run.stdout).toContain('policy down-lenient (enforce): error-allowed');
      expect(run.stdout).toMatch(
        /warning: .*lenient\/app:1 not fully checked by down-lenient \(allowed by onError\)/,
      );
      expect(run.stdout.trimEnd().endsWith('result: denied (1 reason)')).toBe(true);
    });
  });
});
