/** The cloud step of the chain, built once at start-up from the `cloud:` section and the environment. */
import { ConfigError } from '../../../errors.js';
import { parseDurationMs } from '../../../shared/duration.js';
import { isRegistryAllowed } from '../../allow.js';
import type { CloudConfig } from './config.schema.js';
import { CloudCredentials } from './provider.js';
import type { CloudTokenHooks, CloudTokenSource, RegistryEndpoints } from './source.js';
import { cloudSourcesFrom, type CloudEnv } from './sources.js';
import { CloudTokenCache } from './token-cache.js';

function durationMs(value: number | string | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') return value * 1000;
  const ms = parseDurationMs(value, { units: ['ms', 's', 'm'] });
  if (ms === undefined) throw new ConfigError('CONFIG_INVALID', `${what}: "${value}" is not a duration`);
  return ms;
}

export interface CloudBuildOptions {
  /** The registry allowlist after flags are merged; undefined allows every host. */
  allow?: readonly string[] | undefined;
  hooks?: CloudTokenHooks | undefined;
  /** Extra sources (tests; a provider not in `CLOUD_SOURCES`), tried after the configured ones. */
  extraSources?: readonly CloudTokenSource[];
  now?: () => number;
  /** `registries.<host>` of the registry config (address, ca, insecure), for token calls on a registry. */
  endpoints?: RegistryEndpoints | undefined;
}

/** Undefined when no provider is enabled: the chain then ends at the Docker config, as before. */
export function cloudCredentialsFrom(
  config: CloudConfig | undefined,
  env: CloudEnv,
  options: CloudBuildOptions = {},
): CloudCredentials | undefined {
  const sources = [...cloudSourcesFrom(config, env, options.endpoints), ...(options.extraSources ?? [])];
  if (sources.length === 0) return undefined;
  const refreshAheadMs = durationMs(config?.refreshAhead, 'cloud.refreshAhead');
  const fetchTimeoutMs = durationMs(config?.fetchTimeout, 'cloud.fetchTimeout');
  const cache = new CloudTokenCache({
    ...(refreshAheadMs !== undefined ? { refreshAheadMs } : {}),
    ...(fetchTimeoutMs !== undefined ? { fetchTimeoutMs } : {}),
    ...(options.hooks !== undefined ? { hooks: options.hooks } : {}),
    ...(options.now !== undefined ? { now: options.now } : {}),
  });
  const allow = options.allow;
  return new CloudCredentials(sources, cache, (registry) => isRegistryAllowed(allow, registry));
}
