/**
 * The order in which imagegate looks for registry credentials; the first provider that answers wins.
 * Adding a provider is one file in this folder implementing `CredentialProvider` plus one line here;
 * a cloud workload identity (ECR, GCR, ACR) is one `CloudTokenSource` in `cloud/sources.ts` instead.
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
  /**
   * The cloud provider whose host pattern matches (ECR, …: `cloud:` in --registry-config), only for
   * allowed registries; once it matches it answers a token or CREDENTIALS_UNAVAILABLE, never anonymous.
   */
  cloud?: CredentialProvider | undefined;
}

export function credentialChain(sources: CredentialSources): CredentialProvider {
  return chainProviders([
    sources.pullSecrets, // per request: the pod's identity
    sources.registryConfig, // static, from --registry-config
    sources.dockerConfig, // static, from --registry-config's dockerConfig
    sources.cloud, // workload identity: a short-lived token, cached (credentials/cloud/)
  ]);
}
