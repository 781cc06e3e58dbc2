/**
 * End to end, issue 3: what `imagegate check` and the HTTPS webhook built by setupEngine decide when a
 * registry is outside --allow-registry, stopped, or silent (a real registry on loopback, stopped; a
 * TCP black hole).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Setup } from '../../src/cli/setup.js';
import { podReview } from '../helpers/admission-fixtures.js';
import { imagegate, imagegateCheck } from '../helpers/cli.js';
import { buildEngine, writePolicyFile } from '../helpers/engine.js';
import { buildImage, pushImage, type BuiltImage } from '../helpers/image-builder.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { silentServer, sizePolicy } from '../helpers/size-e2e.js';

describe('imagegate end to end: registry faults', () => {
  let reg: TestRegistry;
  let light: BuiltImage;

  beforeAll(async () => {
    reg = await startRegistry();
    light = buildImage({
      steps: [
        { createdBy: 'ADD alpine-minirootfs.tar.gz / # buildkit', randomBytes: 20_000 },
        { createdBy: 'COPY server.js /app/ # buildkit', randomBytes: 10_000 },
      ],
    });
  });
  afterAll(async () => {
    await reg?.stop();
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
      const run = await imagegateCheck(
        file,
        '--insecure-registry',
        down.host,
        `${down.host}/strict/app:1`,
        `${down.host}/lenient/app:1`,
      );
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
