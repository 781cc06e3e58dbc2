/** What bench/run.ts hands each section: the registry and signing key, servers to start, the row sink. */
import type { FaultProxy } from '../test/helpers/fault-proxy.js';
import type { RegistrySeeder } from '../test/helpers/registry-seeder.js';
import type { SigningKey } from '../test/helpers/signed-images.js';
import type { ChildConfig, Server } from './child.js';
import type { Row } from './common.js';

export interface BenchContext {
  /** bench/ itself (sections run scripts beside it). */
  readonly here: string;
  readonly seeder: RegistrySeeder;
  readonly key: SigningKey;
  /** The policy file every imagegate server loads. */
  readonly policy: string;
  /** The servers' CA (PEM). */
  readonly ca: string;
  /** The registry's process (its CPU per request, read from /proc, is part of goal 3's floor). */
  readonly registryPid: number | undefined;
  /** Where BENCH_PROFILE=1 servers write their CPU profiles. */
  readonly profileDir: string;
  /** A fault proxy in front of the registry, delaying each request by delayMs. */
  proxy(delayMs: number): Promise<FaultProxy>;
  child(
    config: Omit<ChildConfig, 'cert' | 'key'>,
    profile?: string,
    env?: Record<string, string>,
  ): Promise<Server>;
  readonly row: Row;
  /** Figures written to bench/results/latest.json, by section. */
  readonly results: Record<string, unknown>;
}
