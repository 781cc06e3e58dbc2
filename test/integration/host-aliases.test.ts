/**
 * Issue 12 #4 rebuilt: a policy on `127.0.0.1:PORT/**` must govern the same registry however a pod
 * spells it. Real HTTPS webhook, real registry on loopback; `unmatched: allow` so that a denial can
 * only come from the policy, and the audit record names the policy that governed each image.
 */
import { describe, expect, it } from 'vitest';
import { podReview } from '../helpers/admission-fixtures.js';
import { buildEngine, writePolicyFile } from '../helpers/engine.js';
import { RegistrySeeder } from '../helpers/registry-seeder.js';
import { useRegistry } from '../helpers/use-registry.js';
import { startServer } from '../helpers/server.js';
import { keyPolicyYaml, pushSignedImage, signingKey } from '../helpers/signed-images.js';
import { useSuiteValue } from '../helpers/suite-value.js';

describe('a policy on a loopback registry', () => {
  const registry = useRegistry();

  const served = useSuiteValue(
    async () => {
      const port = registry.host.split(':')[1]!;
      const seeder = new RegistrySeeder(registry);
      const key = signingKey();
      const signed = await pushSignedImage(seeder, registry.host, 'team/app', key);
      const unsigned = await pushSignedImage(seeder, registry.host, 'team/app', undefined, 'v2');
      const policy = keyPolicyYaml(key, { name: 'loopback' }).replace(
        "glob: '**'",
        `glob: '127.0.0.1:${port}/**'`,
      );
      const setup = await buildEngine({
        policy: [await writePolicyFile(policy)],
        insecureRegistry: [registry.host],
        unmatched: 'allow',
      });
      const server = await startServer({ engine: setup.engine });
      return { setup, server, port, signed, unsigned };
    },
    async ({ server, setup }) => {
      await server.close();
      await setup.registry.close();
    },
    60_000,
  );

  async function review(image: string) {
    const reply = await served.server.post('/validate', podReview([image]));
    const response = (reply.json as { response: { allowed: boolean; status?: { message?: string } } })
      .response;
    const record = served.server.audit.at(-1)!;
    return { response, image: record.images[0]! };
  }

  describe('when the pod spells the registry another way and the image is unsigned', () => {
    it.each([
      (p: string) => `127.0.0.1:${p}`,
      (p: string) => `localhost:${p}`,
      (p: string) => `LocalHost.:${p}`,
      (p: string) => `127.1:${p}`,
      (p: string) => `127.000.000.001:${p}`,
      (p: string) => `0x7f.0.0.1:${p}`,
      (p: string) => `2130706433:${p}`,
      (p: string) => `[::1]:${p}`,
      (p: string) => `[::ffff:127.0.0.1]:${p}`,
    ])('denies it under the policy (%#)', async (spell) => {
      const { response, image } = await review(`${spell(served.port)}/team/app@${served.unsigned}`);
      expect(response.allowed).toBe(false);
      expect(image.unmatched).toBeUndefined();
      expect(image.policies.map((p) => p.policy)).toEqual(['loopback']);
      expect(response.status?.message).toContain('loopback');
    });
  });

  describe('when the spelling reaches the same registry and the image is signed', () => {
    it.each(['127.1', '127.000.000.001', '[::ffff:127.0.0.1]'])(
      'admits %s after a real check',
      async (host) => {
        const { response, image } = await review(`${host}:${served.port}/team/app@${served.signed}`);
        expect(image.policies[0]?.checks.map((c) => [c.check, c.code])).toEqual([['signature', 'OK']]);
        expect(image.reference).toBe(`127.0.0.1:${served.port}/team/app@${served.signed}`);
        expect(response.allowed).toBe(true);
      },
    );
  });

  describe('when the pod names another port on loopback', () => {
    it('is not governed by the policy', async () => {
      const { response, image } = await review(`localhost:1/team/app@${served.unsigned}`);
      expect(image.policies).toEqual([]);
      expect(image.unmatched).toBe('allow');
      expect(response.allowed).toBe(true);
    });
  });
});
