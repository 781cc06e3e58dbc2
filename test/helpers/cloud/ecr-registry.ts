/**
 * The real registry (Debian's docker-registry) behind a bearer-token service that accepts only
 * `AWS:<password>` where the ECR stand-in issued the password and it has not expired: what ECR
 * itself requires. Test images are pushed as `pusher`. `registryConfig` maps ECR host names to it.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchToken, startTokenServer, type TokenServer } from '../auth-servers.js';
import { pushImage, type BuiltImage } from '../image-builder.js';
import { startRegistry, type TestRegistry } from '../registry.js';
import type { AwsWorld } from './aws.js';

export interface EcrRegistry {
  registry: TestRegistry;
  tokens: TokenServer;
  dir: string;
  push(repo: string, tag: string, image: BuiltImage): Promise<void>;
  /**
   * A --registry-config file: each ECR host reached at the loopback registry (or at the address given
   * with it), the world's endpoints; `extra` is appended to the `cloud.aws` block.
   */
  writeConfig(
    hosts: ReadonlyArray<string | { host: string; address: string }>,
    extra?: string,
  ): Promise<string>;
  stop(): Promise<void>;
}

export async function startEcrRegistry(world: AwsWorld): Promise<EcrRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'imagegate-ecr-'));
  const tokens = await startTokenServer({
    dir,
    users: { pusher: 'push-only' },
    authenticate: (user, password) => user === 'AWS' && world.ecrPasswordValid(password),
  });
  const registry = await startRegistry({ token: tokens });
  return {
    registry,
    tokens,
    dir,
    async push(repo, tag, image) {
      const token = await fetchToken(tokens, repo, 'pusher', 'push-only');
      await pushImage(registry.url, repo, tag, image, { authorization: `Bearer ${token}` });
    },
    async writeConfig(hosts, extra = '') {
      const entries = hosts
        .map((h) => (typeof h === 'string' ? { host: h, address: registry.host } : h))
        .map((h) => `  ${h.host}:\n    insecure: true\n    address: ${h.address}\n`)
        .join('');
      const file = join(dir, `registry-${hosts.length}-${Date.now()}.yaml`);
      await writeFile(
        file,
        `registries:\n${entries}cloud:\n  aws:\n    endpoints:\n` +
          `      ecr: ${world.urls.ecr}\n      sts: ${world.urls.sts}\n${extra}`,
      );
      return file;
    },
    async stop() {
      await registry.stop();
      await tokens.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
