/**
 * Issue 24 / issue 20's low items: an image host that is a literal link-local, unspecified or
 * metadata address is refused before any connection unless the operator names it, with no allowlist
 * set (the chart's default). `0.0.0.0:PORT` reaches a listener on loopback under Linux, so a counting
 * listener there shows whether imagegate connected.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Setup } from '../../../src/cli/setup.js';
import { createRegistry, parseReference, type Registry } from '../../../src/registry/index.js';
import { podReview } from '../../helpers/admission-fixtures.js';
import { buildEngine, writePolicyFile } from '../../helpers/engine.js';
import { startCountingServer } from '../../helpers/hostile-registry.js';
import { startServer, type TestServer } from '../../helpers/server.js';
import { policyYaml } from '../../helpers/policy-documents.js';

const never = new AbortController().signal;

describe('image hosts on link-local, unspecified and metadata addresses', () => {
  let counting: Awaited<ReturnType<typeof startCountingServer>>;
  let port: string;
  const clients: Registry[] = [];
  const exchanges: string[] = [];
  const client = (options: Parameters<typeof createRegistry>[0] = {}): Registry => {
    const c = createRegistry(options, {
      onRequest: (registry, status) => exchanges.push(`${registry} ${status}`),
    });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    counting = await startCountingServer();
    port = counting.host.split(':')[1]!;
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    exchanges.length = 0;
  });
  afterAll(() => counting.stop());

  // Only addresses that stay on this machine are dialled here: were the refusal ever broken, a pod
  // image on 169.254.169.254 or [fd00:ec2::254] would reach off loopback. Their classification as
  // refused hosts is unit-tested (test/unit/registry/targets.test.ts); the path from a reference to
  // the refusal is the same for every class and is proven below with the unspecified addresses.
  describe.each(['0.0.0.0', '[::]'])('when a pod names %s:PORT and no allowlist is set', (host) => {
    it('refuses it with REGISTRY_NOT_ALLOWED (a completed finding) and makes no request', async () => {
      const before = counting.connections();
      await expect(
        client()
          .access()
          .resolve(parseReference(`${host}:${port}/x:1`), never),
      ).rejects.toThrowWithCode('REGISTRY_NOT_ALLOWED', { indeterminate: false });
      expect(exchanges).toEqual([]);
      expect(counting.connections()).toBe(before);
    });
  });

  describe('when a pod names 0.0.0.0:PORT (the unspecified address reaches this machine)', () => {
    it('never connects: the counting listener sees no connection', async () => {
      await expect(
        client()
          .access()
          .resolve(parseReference(`0.0.0.0:${port}/x:1`), never),
      ).rejects.toThrowWithCode('REGISTRY_NOT_ALLOWED');
      expect(counting.connections()).toBe(0);
    });

    it('connects when the operator names the host (the listener counts it)', async () => {
      const before = counting.connections();
      await expect(
        client({ allow: [`0.0.0.0:${port}`] })
          .access()
          .resolve(parseReference(`0.0.0.0:${port}/x:1`), never),
      ).rejects.toThrow();
      expect(counting.connections()).toBeGreaterThan(before);
    });
  });

  describe('through the real server, with an enforcing policy whose onError is allow', () => {
    let setup: Setup;
    let server: TestServer;
    beforeAll(async () => {
      const policy = policyYaml('small', {
        mode: 'enforce',
        onError: 'allow',
        images: [{ glob: '**' }],
        size: { maxCompressed: '1Gi' },
      });
      setup = await buildEngine({ policy: [await writePolicyFile(policy)] });
      server = await startServer({ engine: setup.engine });
    });
    afterAll(async () => {
      await server?.close();
      await setup?.registry.close();
    });

    it('denies 0.0.0.0:PORT/x:1 without connecting', async () => {
      const before = counting.connections();
      const reply = await server.post('/validate', podReview([`0.0.0.0:${port}/x:1`]));
      const body = reply.json as { response: { allowed: boolean; status?: { message?: string } } };
      expect(body.response.allowed).toBe(false);
      expect(body.response.status?.message).toMatch(/REGISTRY_NOT_ALLOWED|unspecified address/);
      expect(counting.connections()).toBe(before);
    });
  });
});
