/**
 * Registry options: which registries may be contacted, how (plain HTTP, extra CAs, mirrors,
 * credentials) and how long one request may take. Built once at start-up from the YAML file and the
 * `--insecure-registry` / `--allow-registry` flags.
 */
import { dirname, resolve as resolvePath } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { parse as parseYaml } from 'yaml';
import { ConfigError, errorMessage } from '../errors.js';
import { readConfigText } from './config-text.js';
import { credentialChain, type CredentialSources } from './credentials/chain.js';
import { loadDockerConfig } from './credentials/docker-config.js';
import { Keyring } from './credentials/keyring.js';
import type { Credential, CredentialProvider } from './credentials/provider.js';
import { cloudCredentialsFrom } from './credentials/cloud/build.js';
import type { CloudConfig } from './credentials/cloud/config.schema.js';
import type { CloudCredentials } from './credentials/cloud/provider.js';
import type { CloudTokenHooks } from './credentials/cloud/source.js';
import type { CloudEnv } from './credentials/cloud/sources.js';
import type { Limits } from './limits.js';
import { HOST_PATTERN, RegistryConfigFile } from './options.schema.js';
import { parseDurationMs } from '../shared/duration.js';
import { normaliseRegistryHost } from '../shared/docker-hub.js';
import { canonicalHost, policyHost } from '../shared/host.js';

export interface RegistryEndpointOptions {
  insecure?: boolean;
  /** Extra CA certificates (PEM), added to the system roots. */
  ca?: string[];
  /** Pull-through mirrors (HOST[:PORT]) tried in order before the registry itself. */
  mirrors?: string[];
  /**
   * Connect to this HOST[:PORT] instead of resolving the registry's name (a private endpoint, a
   * local stand-in); TLS still verifies the registry's own name. Credentials follow the registry name.
   */
  address?: string;
}

export interface RegistryOptions {
  /** When set, only these registries (exact HOST[:PORT], or `*.suffix`) are ever contacted. */
  allow?: string[];
  registries?: Record<string, RegistryEndpointOptions>;
  /** The credential provider chain (see credentials/chain.ts); per-request identities are passed to it. */
  credentials?: CredentialProvider;
  /** The providers read from the config file, for callers that build the chain with more providers. */
  credentialSources?: Omit<CredentialSources, 'pullSecrets'>;
  /** Per HTTP request, including connect; default 10 s. */
  requestTimeoutMs?: number;
  /** Digest-addressed cache size; default 64 MiB. */
  cacheMaxBytes?: number;
  /** Tag → digest TTL; default 30 s. */
  tagTtlMs?: number;
  /** Redirects followed per request; default 5. */
  maxRedirects?: number;
  /**
   * With an allowlist: token services (HOST[:PORT], or `*.suffix`) a registry may name as its Bearer
   * realm besides the registry itself, its mirrors and the allowed registries.
   */
  allowAuth?: string[];
  /** Budgets per review and per process; unset fields take DEFAULT_LIMITS (limits.ts). */
  limits?: Partial<Limits>;
  /** The clock for TTLs (tag → digest, bearer tokens); default Date.now. Tests inject one. */
  now?: () => number;
  /** The `cloud:` section as read; `registryOptionsFrom` builds `cloud` from it and the environment. */
  cloudConfig?: CloudConfig;
  /** The cloud step of the chain (also in `credentialSources.cloud`), for /readyz and metrics. */
  cloud?: CloudCredentials;
}

export { isRegistryAllowed } from './allow.js';

const HOST_RE = new RegExp(HOST_PATTERN);

/** A port the URL parser refuses (above 65535) makes the host invalid; `*.suffix` has no port. */
function validHost(host: string): boolean {
  return HOST_RE.test(host) && (host.startsWith('*.') || canonicalHost(host.toLowerCase()) !== undefined);
}

function checkHost(host: string, flag: string): string {
  if (!validHost(host)) {
    throw new ConfigError('USAGE', `${flag} expects HOST[:PORT] with a port up to 65535, got "${host}"`);
  }
  return normaliseRegistryHost(host);
}

export function parseDuration(value: number | string, what: string): number {
  if (typeof value === 'number') return value * 1000;
  const ms = parseDurationMs(value, { units: ['ms', 's', 'm'] });
  if (ms === undefined) {
    throw new ConfigError('CONFIG_INVALID', `${what}: "${value}" is not a duration like 10s`);
  }
  return ms;
}

/** Reads and validates a `--registry-config` YAML file. Relative paths in it are relative to the file. */
export async function loadRegistryConfig(file: string): Promise<RegistryOptions> {
  const text = await readConfigText(file, 'cannot read registry config');
  let doc: unknown;
  try {
    doc = parseYaml(text) ?? {};
  } catch (err) {
    throw new ConfigError('CONFIG_INVALID', `${file}: not valid YAML: ${errorMessage(err)}`, { cause: err });
  }
  if (!Value.Check(RegistryConfigFile, doc)) {
    const problems = [...Value.Errors(RegistryConfigFile, doc)]
      .slice(0, 5)
      .map((e) => `${e.path || '/'}: ${e.message}`)
      .join('; ');
    throw new ConfigError('CONFIG_INVALID', `${file}: ${problems}`);
  }
  const base = dirname(file);
  const at = (p: string): string => resolvePath(base, p);
  const registries: Record<string, RegistryEndpointOptions> = {};
  const staticCreds: Array<[string, Credential]> = [];
  for (const [rawHost, cfg] of Object.entries(doc.registries ?? {})) {
    for (const h of [rawHost, ...(cfg.mirrors ?? []), ...(cfg.address !== undefined ? [cfg.address] : [])]) {
      if (!validHost(h)) {
        throw new ConfigError(
          'CONFIG_INVALID',
          `${file}: registries: "${h}" is not HOST[:PORT] with a port up to 65535`,
        );
      }
    }
    const host = normaliseRegistryHost(rawHost);
    const ca: string[] = [];
    if (cfg.ca !== undefined) ca.push(cfg.ca);
    if (cfg.caFile !== undefined)
      ca.push(await readConfigText(at(cfg.caFile), `${file}: registries.${rawHost}.caFile: cannot read`));
    registries[host] = {
      ...(cfg.insecure !== undefined ? { insecure: cfg.insecure } : {}),
      ...(ca.length > 0 ? { ca } : {}),
      ...(cfg.mirrors !== undefined ? { mirrors: cfg.mirrors.map(normaliseRegistryHost) } : {}),
      ...(cfg.address !== undefined ? { address: cfg.address } : {}),
    };
    if (cfg.username !== undefined) {
      if (cfg.password !== undefined && cfg.passwordFile !== undefined) {
        throw new ConfigError(
          'CONFIG_INVALID',
          `${file}: registries.${rawHost}: give password or passwordFile, not both`,
        );
      }
      const password =
        cfg.passwordFile !== undefined
          ? (
              await readConfigText(
                at(cfg.passwordFile),
                `${file}: registries.${rawHost}.passwordFile: cannot read`,
              )
            ).trimEnd()
          : (cfg.password ?? '');
      staticCreds.push([host, { kind: 'basic', username: cfg.username, password }]);
    } else if (cfg.password !== undefined || cfg.passwordFile !== undefined) {
      throw new ConfigError('CONFIG_INVALID', `${file}: registries.${rawHost}: password without username`);
    }
  }
  const docker = doc.dockerConfig !== undefined ? await loadDockerConfig(at(doc.dockerConfig)) : undefined;
  const sources = {
    ...(staticCreds.length > 0 ? { registryConfig: new Keyring(staticCreds, 'registry-config') } : {}),
    ...(docker !== undefined ? { dockerConfig: docker } : {}),
  };
  return {
    ...(doc.allow !== undefined ? { allow: doc.allow.map(normaliseRegistryHost) } : {}),
    registries,
    ...(staticCreds.length > 0 || docker !== undefined
      ? { credentials: credentialChain(sources), credentialSources: sources }
      : {}),
    ...(doc.requestTimeout !== undefined
      ? { requestTimeoutMs: parseDuration(doc.requestTimeout, `${file}: requestTimeout`) }
      : {}),
    ...(doc.tagTtl !== undefined ? { tagTtlMs: parseDuration(doc.tagTtl, `${file}: tagTtl`) } : {}),
    ...(doc.cacheMaxBytes !== undefined ? { cacheMaxBytes: doc.cacheMaxBytes } : {}),
    ...(doc.allowAuth !== undefined ? { allowAuth: doc.allowAuth.map(normaliseRegistryHost) } : {}),
    ...(doc.limits !== undefined ? { limits: doc.limits } : {}),
    ...(doc.cloud !== undefined ? { cloudConfig: doc.cloud } : {}),
  };
}

/**
 * Merges `--registry-config FILE`, `--insecure-registry HOST[:PORT]` (repeatable),
 * `--allow-registry HOST[:PORT]` (repeatable) and `--allow-auth-host HOST[:PORT]` (repeatable). Flags
 * add to the file: insecure hosts get plain HTTP, allowed hosts join the file's allowlist (giving
 * either turns the allowlist on), auth hosts join `allowAuth`.
 */
export async function registryOptionsFrom(input: {
  configFile?: string | undefined;
  insecure?: readonly string[];
  allow?: readonly string[];
  allowAuth?: readonly string[];
  /** The process environment: with it, cloud providers join the chain (`cloud:`, docs/cloud.md). */
  env?: CloudEnv | undefined;
  cloudHooks?: CloudTokenHooks | undefined;
}): Promise<RegistryOptions> {
  const base: RegistryOptions =
    input.configFile !== undefined ? await loadRegistryConfig(input.configFile) : {};
  const merged = mergeRegistryFlags(base, input.insecure ?? [], input.allow ?? [], input.allowAuth ?? []);
  return input.env !== undefined ? withCloud(merged, input.env, input.cloudHooks) : merged;
}

/** Adds the cloud step after the flags are merged, so it sees the final allowlist. */
export function withCloud(options: RegistryOptions, env: CloudEnv, hooks?: CloudTokenHooks): RegistryOptions {
  const endpoints = new Map(
    Object.entries(options.registries ?? {}).map(([h, cfg]) => [policyHost(normaliseRegistryHost(h)), cfg]),
  );
  const cloud = cloudCredentialsFrom(options.cloudConfig, env, {
    allow: options.allow,
    hooks,
    // ACR's token exchange is on the registry: reach it as the registry client does
    endpoints: (registry) => endpoints.get(policyHost(normaliseRegistryHost(registry))),
    ...(options.now !== undefined ? { now: options.now } : {}),
  });
  if (cloud === undefined) return options;
  const sources = { ...options.credentialSources, cloud };
  return { ...options, cloud, credentialSources: sources, credentials: credentialChain(sources) };
}

export function mergeRegistryFlags(
  base: RegistryOptions,
  insecure: readonly string[],
  allow: readonly string[],
  allowAuth: readonly string[] = [],
): RegistryOptions {
  const registries = { ...(base.registries ?? {}) };
  for (const raw of insecure) {
    const host = checkHost(raw, '--insecure-registry');
    if (host.startsWith('*.'))
      throw new ConfigError('USAGE', `--insecure-registry takes no wildcard: "${raw}"`);
    registries[host] = { ...(registries[host] ?? {}), insecure: true };
  }
  const allowed = allow.map((a) => checkHost(a, '--allow-registry'));
  const merged =
    base.allow === undefined && allowed.length === 0
      ? undefined
      : [...new Set([...(base.allow ?? []), ...allowed])];
  const auth = allowAuth.map((a) => checkHost(a, '--allow-auth-host'));
  const mergedAuth =
    base.allowAuth === undefined && auth.length === 0
      ? undefined
      : [...new Set([...(base.allowAuth ?? []), ...auth])];
  return {
    ...base,
    registries,
    ...(merged !== undefined ? { allow: merged } : {}),
    ...(mergedAuth !== undefined ? { allowAuth: mergedAuth } : {}),
  };
}
