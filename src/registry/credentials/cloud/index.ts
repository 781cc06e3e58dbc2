/** Cloud workload identities as registry credentials: the source contract, the token cache, the chain step. */
export type {
  CloudProviderStatus,
  CloudToken,
  CloudTokenHooks,
  CloudTokenSource,
  RegistryEndpoint,
  RegistryEndpoints,
} from './source.js';
export { CloudTokenCache, type CloudTokenCacheOptions } from './token-cache.js';
export { CloudCredentials } from './provider.js';
export { CloudConfig, AwsCloudConfig, cloudProviderCommon } from './config.schema.js';
export { CLOUD_SOURCES, cloudSourcesFrom, restrictTo, type CloudEnv } from './sources.js';
export { cloudCredentialsFrom, type CloudBuildOptions } from './build.js';
export { GoogleTokenSource } from './gcp/source.js';
export { AZURE_CLOUDS, entraToken } from './azure/token.js';
export { unavailable } from './oauth-http.js';
