/**
 * The cloud providers imagegate knows, built from the `cloud:` section and the process environment.
 * A new provider is one function in `CLOUD_SOURCES` (it decides its own default for `enabled`).
 */
import { isRegistryAllowed } from '../../allow.js';
import { awsEcrSource } from './aws/source.js';
import { azureSourceFrom } from './azure/source.js';
import type { CloudConfig } from './config.schema.js';
import { googleSourceFrom } from './gcp/source.js';
import type { CloudEnv, CloudTokenSource, RegistryEndpoints } from './source.js';

export type { CloudEnv } from './source.js';

type SourceFactory = (
  config: CloudConfig,
  env: CloudEnv,
  endpoints: RegistryEndpoints,
) => CloudTokenSource | undefined;

/** In precedence order (host patterns do not overlap, so the order only matters for tests' own sources). */
export const CLOUD_SOURCES: readonly SourceFactory[] = [
  (config, env) => {
    const aws = awsEcrSource(config, env);
    return aws !== undefined ? restrictTo(aws, config.aws?.registries) : undefined;
  },
  (config, env) => googleSourceFrom(config.gcp, env),
  (config, env, endpoints) => azureSourceFrom(config.azure, env, endpoints),
];

/** Narrows a source to the `registries:` its block names (HOST or `*.suffix`). */
export function restrictTo(
  source: CloudTokenSource,
  registries: readonly string[] | undefined,
): CloudTokenSource {
  if (registries === undefined) return source;
  return {
    name: source.name,
    matches: (registry) => isRegistryAllowed(registries, registry) && source.matches(registry),
    identity: () => source.identity(),
    fetch: (registry, signal) => source.fetch(registry, signal),
    remedy: (error) => source.remedy(error),
  };
}

export function cloudSourcesFrom(
  config: CloudConfig | undefined,
  env: CloudEnv,
  endpoints: RegistryEndpoints = () => undefined,
): CloudTokenSource[] {
  const sources: CloudTokenSource[] = [];
  for (const make of CLOUD_SOURCES) {
    const source = make(config ?? {}, env, endpoints);
    if (source !== undefined) sources.push(source);
  }
  return sources;
}
