/**
 * The `key.kms` reader the engine hands to the signature checks: one client per key service, its
 * credentials from the process environment (the cloud's own variables), every answer cached per key
 * reference (cache.ts). Nothing here calls a KMS to verify: signatures are verified locally.
 */
import type { Dispatcher } from 'undici';
import type { KmsKeyReader, KmsKeyReference, PublicKeyVersion } from '../checks/signature/index.js';
import { SignatureError, errorMessage } from '../errors.js';
import { AwsKms } from './aws.js';
import { azureKeys } from './azure.js';
import { KmsKeyCache, type KmsCacheCounters, type KmsCacheOptions, type KmsServiceStatus } from './cache.js';
import { gcpKeys } from './gcp.js';
import { HttpFailure } from './http.js';
import type { CloudProviderStatus, CloudTokenHooks } from '../registry/credentials/cloud/index.js';
import { KmsCloudTokens, type CachedToken, type Env } from './tokens.js';
import { vaultKeys, vaultToken } from './vault.js';

export interface KmsReaderOptions extends KmsCacheOptions {
  /** Default process.env: VAULT_*, GCE_METADATA_HOST, AZURE_*, CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS; AWS_* the SDK reads itself. */
  env?: Env;
  /** undici dispatcher for the REST services (tests: one trusting their CA); default undici's global. */
  dispatcher?: Dispatcher;
  /** Called once per Google or Azure token fetch (metrics: `imagegate_cloud_token_*`, provider gcp-kms or azure-keyvault). */
  tokenHooks?: CloudTokenHooks;
}

export interface KmsReader extends KmsKeyReader {
  readonly counters: KmsCacheCounters;
  /** The Google and Azure identities used so far, as the registry's cloud providers report theirs. */
  tokenStatus(): CloudProviderStatus[];
  /** Per key service: keys held and the oldest one's age (the key-age gauge). */
  keyStatus(): KmsServiceStatus[];
  close(): void;
}

function unavailable(ref: KmsKeyReference, err: unknown): SignatureError {
  if (err instanceof SignatureError) return err;
  const why = err instanceof HttpFailure || err instanceof Error ? err.message : errorMessage(err);
  return new SignatureError('KMS_UNAVAILABLE', `cannot fetch ${ref.uri}: ${why}`, {
    indeterminate: true,
    cause: err,
  });
}

export function createKmsKeyReader(options: KmsReaderOptions = {}): KmsReader {
  const env = options.env ?? process.env;
  const dispatcher = options.dispatcher;
  const aws = new AwsKms();
  const tokens = new KmsCloudTokens({
    env,
    dispatcher,
    hooks: options.tokenHooks,
    ...(options.now !== undefined ? { now: options.now } : {}),
  });
  let vault: CachedToken | undefined;

  const fetchKeys = async (ref: KmsKeyReference, signal: AbortSignal): Promise<PublicKeyVersion[]> => {
    try {
      switch (ref.provider) {
        case 'aws':
          return await aws.keys(ref, signal);
        case 'gcp':
          return await gcpKeys(ref, env, tokens.google(), dispatcher, signal);
        case 'azure':
          return await azureKeys(ref, tokens.azure(ref.vaultHost), dispatcher, signal);
        case 'vault':
          vault ??= vaultToken(env, dispatcher, options.now);
          return await vaultKeys(ref, env, vault, dispatcher, signal);
      }
    } catch (err) {
      throw unavailable(ref, err);
    }
  };
  const cache = new KmsKeyCache(fetchKeys, options);
  return {
    keys: (ref, signal) => cache.keys(ref, signal),
    refresh: (ref, signal) => cache.refresh(ref, signal),
    counters: cache.counters,
    tokenStatus: () => tokens.status(),
    keyStatus: () => cache.status(),
    close: () => aws.destroy(),
  };
}
