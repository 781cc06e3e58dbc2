/** Registry credentials: the provider contract, the providers, and the chain that orders them. */
export {
  chainProviders,
  credentialKey,
  NOT_NOW,
  type Credential,
  type CredentialProvider,
  type CredentialRequest,
  type PullIdentity,
} from './provider.js';
export { Keyring, normaliseCredentialKey } from './keyring.js';
export { loadDockerConfig, parseDockerConfig } from './docker-config.js';
export {
  credentialsFromPullSecrets,
  pullSecretProvider,
  readPullSecrets,
  type PullSecretLike,
  type PullSecretProviderOptions,
  type PullSecretRefs,
  type PullSecretSource,
} from './pull-secrets.js';
export { credentialChain, type CredentialSources } from './chain.js';
export * from './cloud/index.js';
