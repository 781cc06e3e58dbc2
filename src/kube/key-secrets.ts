/**
 * Reads keys referenced by policies (`key.secretRef`) from Kubernetes Secrets. Values are cached
 * briefly and never logged. RBAC: get on the named Secrets only.
 */
import { readFileSync } from 'node:fs';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { KeySecretReader, SecretKeyReference } from '../checks/signature/index.js';
import { SignatureError } from '../errors.js';
import { statusCode } from './status-code.js';
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

/**
 * Why a Secret could not be read, in words an operator acts on. Never the client library's text: its
 * ApiException message dumps the response body and headers (`HTTP-Code: 404 … Headers: {…}`).
 */
export function secretReadProblem(err: unknown): string {
  const status = statusCode(err);
  if (status === 404) return 'not found (create it, or fix key.secretRef in the policy)';
  if (status === 403)
    return "forbidden (imagegate's service account may not get it: the chart's RBAC names the Secrets it may read)";
  if (status === 401) return "unauthorized (the API server refused imagegate's credentials)";
  if (status !== undefined) return `the API server answered HTTP ${status}`;
  const message = err instanceof Error ? err.message : '';
  if (/^(timed out after \d+ ms|deadline reached)$/.test(message))
    return `no answer from the API server (${message})`;
  const code = (err as { code?: unknown } | null)?.code;
  return `the API server could not be reached${typeof code === 'string' && /^[A-Z_]+$/.test(code) ? ` (${code})` : ''}`;
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
        throw new SignatureError(
          'SECRET_UNAVAILABLE',
          `cannot read Secret ${id}: ${secretReadProblem(err)}`,
          {
            indeterminate: true,
          },
        );
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
