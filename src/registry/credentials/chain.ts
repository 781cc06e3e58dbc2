/**
 * The order in which imagegate looks for registry credentials; the first provider that answers wins.
 * Adding a provider (e.g. a cloud workload identity for ECR, GCR or ACR) is one file in this folder
 * implementing `CredentialProvider` plus one line here.
 */
import type { CredentialProvider } from './provider.js';
import { chainProviders } from './provider.js';

export interface CredentialSources {
  /** The pod's and its service account's imagePullSecrets (serve --pull-secrets). */
  pullSecrets?: CredentialProvider | undefined;
  /** `registries.<host>.username` / `password(File)` in --registry-config. */
  registryConfig?: CredentialProvider | undefined;
  /** The Docker config.json named by `dockerConfig:` in --registry-config. */
  dockerConfig?: CredentialProvider | undefined;
}

export function credentialChain(sources: CredentialSources): CredentialProvider {
  return chainProviders([
    sources.pullSecrets, // per request: the pod's identity
    sources.registryConfig, // static, from --registry-config
    sources.dockerConfig, // static, from --registry-config's dockerConfig
  ]);
}
