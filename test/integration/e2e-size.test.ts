/**
 * End to end, issue 3: the CLI and the HTTPS webhook built by setupEngine (real registry client,
 * real size compiler) against a real registry on loopback. The same image gets the same decision from
 * `imagegate check` and `POST /validate`; `POST /mutate` pins tags to the digest that `/validate` then
 * checks; OCI layouts. The allowlist and a stopped or silent registry: e2e-registry-faults.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Setup } from '../../src/cli/setup.js';
import { podReview } from '../helpers/admission-fixtures.js';
import { imagegate, imagegateCheck } from '../helpers/cli.js';
import { buildEngine, writePolicyFile } from '../helpers/engine.js';
import { fixturePath, HAVE_FIXTURES } from '../helpers/fixtures.js';
import { buildImage, pushImage, pushManifest } from '../helpers/image-builder.js';
import { useRegistry } from '../helpers/use-registry.js';
import { useSuiteValue } from '../helpers/suite-value.js';
import { sizePolicy } from '../helpers/size-e2e.js';
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

describe('imagegate end to end: size and pinning', () => {
  const reg = useRegistry();

  const pushed = useSuiteValue(
    async () => {
      const heavy = buildImage({ steps: HEAVY_STEPS });
      const light = buildImage({ steps: LIGHT_STEPS });
      await pushImage(reg.url, 'team/app', '1', heavy);
      await pushImage(reg.url, 'team/app', 'small', light);
      await pushImage(reg.url, 'team/pinned', 'moving', heavy);
      await pushImage(reg.url, 'team/pinned', 'other', light);
      const policyFile = await writePolicyFile(sizePolicy('app-size', `${reg.host}/**`, 'deny'));
      return { heavy, light, policyFile };
    },
    async () => undefined,
  );

  describe('imagegate check against the registry', () => {
    it('denies an image over the limit, names the heaviest layers and their build steps, exits 1', async () => {
      const run = await imagegateCheck(
        pushed.policyFile,
        '--insecure-registry',
        reg.host,
        `${reg.host}/team/app:1`,
      );
      expect(run.code, run.stderr).toBe(1);
      expect(run.stdout).toContain(`✗ ${reg.host}/team/app:1@${pushed.heavy.manifest.digest}`);
      expect(run.stdout).toContain('policy app-size (enforce): fail');
      expect(run.stdout).toMatch(HEAVY_EXPLANATION);
      expect(run.stdout).toContain('[SIZE_EXCEEDED]');
      expect(run.stdout.trimEnd().endsWith('result: denied (1 reason)')).toBe(true);
    });

    it('allows an image within the limit and exits 0', async () => {
      const run = await imagegateCheck(
        pushed.policyFile,
        '--insecure-registry',
        reg.host,
        '--output',
        'json',
        `${reg.host}/team/app:small`,
      );
      expect(run.code, run.stderr).toBe(0);
      const out = JSON.parse(run.stdout) as { allowed: boolean; images: { digest: string }[] };
      expect(out.allowed).toBe(true);
      expect(out.images[0]?.digest).toBe(pushed.light.manifest.digest);
    });
  });

  describe('the webhook built by setupEngine', () => {
    let setup: Setup;
    let server: TestServer;

    beforeAll(async () => {
      setup = await buildEngine({ policy: [pushed.policyFile], insecureRegistry: [reg.host] });
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
      expect(server.audit.at(-1)?.images[0]?.digest).toBe(pushed.light.manifest.digest);
    });

    it('/mutate pins every tag-only image of a Pod at its JSON pointer, and leaves digests alone', async () => {
      const review = podReview([
        `${reg.host}/team/app:1`,
        `${reg.host}/team/app@${pushed.light.manifest.digest}`,
      ]);
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
          value: `${reg.host}/team/app:1@${pushed.heavy.manifest.digest}`,
        },
        {
          op: 'replace',
          path: '/spec/initContainers/0/image',
          value: `${reg.host}/team/app:small@${pushed.light.manifest.digest}`,
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
          value: `${reg.host}/team/app:small@${pushed.light.manifest.digest}`,
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
          value: `${reg.host}/team/pinned:moving@${pushed.heavy.manifest.digest}`,
        },
      ]);
      // The tag moves to a small image between admission and validation.
      await pushManifest(reg.url, 'team/pinned', 'moving', pushed.light.manifest);
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
        image: `${reg.host}/team/pinned:moving@${pushed.heavy.manifest.digest}`,
        digest: pushed.heavy.manifest.digest,
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
      const run = await imagegateCheck(
        file,
        '--as',
        'registry.example.com/team/top:1',
        `oci:${fixturePath('oci-images', 'apko-top_image')}`,
      );
      expect(run.code, run.stdout + run.stderr).toBe(1);
      expect(run.stdout).toMatch(
        /FAIL size: linux\/amd64: .* over the 1 KiB limit of policy layouts; heaviest: layer 1/,
      );
    });
  });
});
