/**
 * Reads keys referenced by policies (`key.secretRef`) from Kubernetes Secrets. Values are cached
 * briefly and never logged. RBAC: get on the named Secrets only.
 */
import { readFileSync } from 'node:fs';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { KeySecretReader, SecretKeyReference } from '../checks/signature/index.js';
import { SignatureError, errorMessage } from '../errors.js';
import { cachedReads } from './cached-read.js';
import { withTimeout } from './with-timeout.js';

const TTL_MS = 60_000;
/** One Secret read; past it the key is unavailable and the signature check indeterminate. */
const SECRET_READ_TIMEOUT_MS = 3000;
const MAX_SECRETS = 1000;
const SA_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** The namespace imagegate runs in: POD_NAMESPACE, the service account file, else "imagegate". */
export function ownNamespace(env: NodeJS.ProcessEnv = process.env): string {
  if (env.POD_NAMESPACE !== undefined && env.POD_NAMESPACE !== '') return env.POD_NAMESPACE;
  try {
    return readFileSync(SA_NAMESPACE_FILE, 'utf8').trim();
  } catch {
    return 'imagegate';
  }
}

export function createKeySecretReader(kubeConfig: KubeConfig, defaultNamespace: string): KeySecretReader {
  const api = kubeConfig.makeApiClient(CoreV1Api);
  const readSecret = cachedReads<Record<string, string>>(MAX_SECRETS, TTL_MS);
  return {
    async read(ref: SecretKeyReference, signal: AbortSignal): Promise<string> {
      const namespace = ref.namespace ?? defaultNamespace;
      const id = `${namespace}/${ref.name}`;
      const data = readSecret(id, () =>
        withTimeout(
          api.readNamespacedSecret({ name: ref.name, namespace }).then((s) => s.data ?? {}),
          SECRET_READ_TIMEOUT_MS,
          signal,
        ),
      );
      let values: Record<string, string>;
      try {
        values = await data;
      } catch (err) {
        throw new SignatureError('SECRET_UNAVAILABLE', `cannot read Secret ${id}: ${errorMessage(err)}`, {
          indeterminate: true,
        });
      }
      const b64 = values[ref.key];
      if (b64 === undefined) {
        throw new SignatureError('SECRET_UNAVAILABLE', `Secret ${id} has no key "${ref.key}"`, {
          indeterminate: true,
        });
      }
      return Buffer.from(b64, 'base64').toString('utf8');
    },
  };
}
