/**
 * An engine built as `imagegate serve` builds it (setupEngine) behind the real HTTPS server, for the
 * enclosing `describe`: built in a beforeAll from `options()` (called then, so it may use what earlier
 * hooks made), closed after the block's tests. Read `setup` and `server` inside hooks and tests.
 */
import type { CommonOptions } from '../../src/cli/args.js';
import type { Setup } from '../../src/cli/setup.js';
import { buildEngine } from './engine.js';
import { startServer, type StartOptions, type TestServer } from './server.js';
import { useSuiteValue } from './suite-value.js';

export interface ServedEngine {
  readonly setup: Setup;
  readonly server: TestServer;
}

export function useServedEngine(
  options: () => Partial<CommonOptions>,
  server: Omit<StartOptions, 'engine'> = {},
): ServedEngine {
  return useSuiteValue(
    async () => {
      const setup = await buildEngine(options());
      return { setup, server: await startServer({ ...server, engine: setup.engine }) };
    },
    async (served) => {
      await served.server.close();
      await served.setup.registry.close();
    },
  );
}

/** A server `start` makes for the enclosing `describe`, closed after the block's tests. */
export function useServer(start: () => Promise<TestServer>): TestServer {
  return useSuiteValue(start, (server) => server.close());
}

/** The built-in default policy (`buildEngine()` with no options) behind the real HTTPS server. */
export function useDefaultPolicyServer(): TestServer {
  return useServer(async () => startServer({ engine: (await buildEngine()).engine }));
}
