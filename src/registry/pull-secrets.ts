/**
 * In the cluster: the pull credentials of a pod, read like the kubelet does: its imagePullSecrets and
 * those of its service account (for workload objects the ServiceAccount admission plugin has not
 * merged them yet). Missing secrets are skipped, as the kubelet skips them.
 */
import { RegistryError, errorMessage } from '../errors.js';
import {
  credentialsFromPullSecrets,
  type PullSecretLike,
  type StaticCredentialStore,
} from './credentials.js';

export interface PullSecretRefs {
  namespace: string;
  imagePullSecrets?: ReadonlyArray<{ name?: string }> | undefined;
  /** Default "default", as for pods. */
  serviceAccountName?: string | undefined;
}

/**
 * The two API reads this needs (src/kube/ provides them; client-node's CoreV1Api fits). A missing
 * object rejects with `{ code: 404 }`, as client-node's ApiException does.
 */
export interface PullSecretReader {
  readNamespacedSecret(p: { name: string; namespace: string }): Promise<PullSecretLike>;
  readNamespacedServiceAccount(p: {
    name: string;
    namespace: string;
  }): Promise<{ imagePullSecrets?: ReadonlyArray<{ name?: string }> }>;
}

function isNotFound(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 404;
}

async function orUndefined<T>(p: Promise<T>, what: string): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw new RegistryError(
      'CREDENTIALS_UNAVAILABLE',
      `cannot read ${what}: ${errorMessage(err).slice(0, 200)}`,
      {
        cause: err,
        indeterminate: true,
      },
    );
  }
}

export async function readPullSecrets(
  api: PullSecretReader,
  refs: PullSecretRefs,
): Promise<StaticCredentialStore> {
  const { namespace } = refs;
  const names: string[] = [];
  for (const s of refs.imagePullSecrets ?? []) if (s.name) names.push(s.name);
  const saName = refs.serviceAccountName || 'default';
  const sa = await orUndefined(
    api.readNamespacedServiceAccount({ name: saName, namespace }),
    `service account ${namespace}/${saName}`,
  );
  for (const s of sa?.imagePullSecrets ?? []) if (s.name && !names.includes(s.name)) names.push(s.name);
  const secrets = await Promise.all(
    names.map((name) =>
      orUndefined(api.readNamespacedSecret({ name, namespace }), `secret ${namespace}/${name}`),
    ),
  );
  return credentialsFromPullSecrets(secrets.filter((s): s is PullSecretLike => s !== undefined));
}
