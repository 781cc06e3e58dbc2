/**
 * The whole webhook path for resilience tests: real registry → fault proxy → imagegate (setupEngine +
 * the real HTTPS server), with one enforcing key-signature policy per onError action.
 */
import type { Setup } from '../../src/cli/setup.js';
import { buildEngine, writePolicyFile } from './engine.js';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';
import { startRegistry, type TestRegistry } from './registry.js';
import { RegistrySeeder } from './registry-seeder.js';
import { startServer, type StartOptions, type TestServer } from './server.js';
import { keyPolicyYaml, pushSignedImage, signingKey, type SigningKey } from './signed-images.js';
import { useSuiteValue } from './suite-value.js';

export interface WebhookRig {
  registry: TestRegistry;
  proxy: FaultProxy;
  server: TestServer;
  setup: Setup;
  key: SigningKey;
  /** Pushes a fresh image (signed unless `signed` is false); returns `proxyhost/repo@digest`. */
  image(repo: string, signed?: boolean): Promise<string>;
  close(): Promise<void>;
}

export async function startWebhookRig(
  onError: 'deny' | 'allow',
  server: Omit<StartOptions, 'engine'> = {},
): Promise<WebhookRig> {
  const registry = await startRegistry();
  const proxy = await startFaultProxy(registry.url);
  const seeder = new RegistrySeeder(registry);
  const key = signingKey();
  const policy = await writePolicyFile(keyPolicyYaml(key, { onError }));
  const setup = await buildEngine({ policy: [policy], insecureRegistry: [proxy.host] });
  const srv = await startServer({ ...server, engine: setup.engine });
  return {
    registry,
    proxy,
    server: srv,
    setup,
    key,
    async image(repo, signed = true) {
      const digest = await pushSignedImage(seeder, proxy.host, repo, signed ? key : undefined);
      return `${proxy.host}/${repo}@${digest}`;
    },
    async close() {
      await srv.close();
      await setup.registry.close();
      await proxy.stop();
      await registry.stop();
    },
  };
}

/** A rig for the enclosing `describe`: started before its tests, closed after them. */
export function useWebhookRig(
  onError: 'deny' | 'allow',
  server: Omit<StartOptions, 'engine'> = {},
): WebhookRig {
  return useSuiteValue(
    () => startWebhookRig(onError, server),
    (rig) => rig.close(),
  );
}
