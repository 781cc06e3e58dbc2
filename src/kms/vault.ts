/**
 * HashiCorp Vault transit: `GET /v1/TRANSIT/keys/NAME` answers every version's public key; versions
 * below `min_decryption_version` are the ones Vault itself no longer verifies, so neither does
 * imagegate. Address and token as cosign takes them (VAULT_ADDR, VAULT_TOKEN, VAULT_NAMESPACE,
 * TRANSIT_SECRET_ENGINE_PATH), or Kubernetes auth with the pod's service account token
 * (VAULT_K8S_ROLE, VAULT_K8S_MOUNT, default `kubernetes`). Vault policy: `read` on
 * `TRANSIT/keys/NAME`.
 */
import { readFile } from 'node:fs/promises';
import type { Dispatcher } from 'undici';
import type { PublicKeyVersion } from '../checks/signature/index.js';
import { SignatureError, errorMessage } from '../errors.js';
import type { KmsReference } from '../shared/kms-uri.js';
import { getJsonObject } from './http.js';
import { toKeyVersions, type KeyUse } from './key-material.js';
import { CachedToken, type Env } from './tokens.js';

type VaultReference = Extract<KmsReference, { provider: 'vault' }>;

const SA_TOKEN_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/token';
const MAX_VERSIONS = 100;

/**
 * The ways a transit key of `type` signs. Vault names the RSA padding per sign call
 * (`signature_algorithm`, default pss), not in the key, so an RSA key verifies both.
 */
export function vaultKeyUses(type: string): KeyUse[] {
  if (type === 'ecdsa-p256' || type === 'ed25519') return [{ hash: 'sha256' }];
  if (type === 'ecdsa-p384') return [{ hash: 'sha384' }];
  if (type === 'ecdsa-p521') return [{ hash: 'sha512' }];
  if (/^rsa-(2048|3072|4096)$/.test(type))
    return [
      { padding: 'pss', hash: 'sha256' },
      { padding: 'pkcs1', hash: 'sha256' },
    ];
  return [];
}

function vaultAddress(env: Env): string {
  const addr = env.VAULT_ADDR;
  if (addr === undefined || addr === '') throw new Error('VAULT_ADDR is not set');
  return addr.replace(/\/?$/, '/');
}

function namespaceHeader(env: Env): Record<string, string> {
  return env.VAULT_NAMESPACE !== undefined && env.VAULT_NAMESPACE !== ''
    ? { 'x-vault-namespace': env.VAULT_NAMESPACE }
    : {};
}

/** VAULT_TOKEN as given, else a Kubernetes auth login (renewed by logging in again when its lease ends). */
export function vaultToken(
  env: Env,
  dispatcher: Dispatcher | undefined,
  now: () => number = Date.now,
): CachedToken {
  return new CachedToken(async (signal) => {
    if (env.VAULT_TOKEN !== undefined && env.VAULT_TOKEN !== '') {
      return { value: env.VAULT_TOKEN, expiresAt: Number.POSITIVE_INFINITY };
    }
    const role = env.VAULT_K8S_ROLE;
    if (role === undefined || role === '') {
      throw new Error('neither VAULT_TOKEN nor VAULT_K8S_ROLE (Kubernetes auth) is set');
    }
    const mount = env.VAULT_K8S_MOUNT ?? 'kubernetes';
    const url = new URL(`v1/auth/${mount}/login`, vaultAddress(env));
    try {
      const jwt = (await readFile(env.VAULT_K8S_TOKEN_FILE ?? SA_TOKEN_FILE, 'utf8')).trim();
      const answer = await getJsonObject(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...namespaceHeader(env) },
        body: JSON.stringify({ role, jwt }),
        signal,
        ...(dispatcher !== undefined ? { dispatcher } : {}),
      });
      const auth = answer.auth as { client_token?: unknown; lease_duration?: unknown } | undefined;
      if (typeof auth?.client_token !== 'string')
        throw new Error('the login answer has no auth.client_token');
      const lease =
        typeof auth.lease_duration === 'number' && auth.lease_duration > 0 ? auth.lease_duration : 300;
      return { value: auth.client_token, expiresAt: now() + lease * 1000 };
    } catch (err) {
      throw new Error(`Vault Kubernetes login as role ${role} at ${url.origin}: ${errorMessage(err)}`);
    }
  }, now);
}

const HINTS: Record<number, string> = {
  403: "the token's Vault policy needs read on the transit key",
  404: 'no such transit key: check the hashivault:// reference and TRANSIT_SECRET_ENGINE_PATH',
};

export async function vaultKeys(
  ref: VaultReference,
  env: Env,
  token: CachedToken,
  dispatcher: Dispatcher | undefined,
  signal: AbortSignal,
): Promise<PublicKeyVersion[]> {
  const mount = env.TRANSIT_SECRET_ENGINE_PATH ?? 'transit';
  const url = new URL(`v1/${mount}/keys/${encodeURIComponent(ref.keyName)}`, vaultAddress(env));
  const answer = await getJsonObject(
    url,
    {
      headers: { 'x-vault-token': await token.get(signal), ...namespaceHeader(env) },
      signal,
      ...(dispatcher !== undefined ? { dispatcher } : {}),
    },
    (s) => HINTS[s] ?? '',
  );
  const data = (answer.data ?? {}) as { type?: unknown; keys?: unknown; min_decryption_version?: unknown };
  const type = typeof data.type === 'string' ? data.type : '';
  const uses = vaultKeyUses(type);
  if (uses.length === 0)
    throw new SignatureError('KEY_INVALID', `${ref.uri}: transit key type ${type || '(none)'} cannot sign`);
  const min = typeof data.min_decryption_version === 'number' ? data.min_decryption_version : 1;
  const keys =
    typeof data.keys === 'object' && data.keys !== null ? (data.keys as Record<string, unknown>) : {};
  const versions = Object.entries(keys)
    .filter(([v]) => /^\d{1,10}$/.test(v) && Number(v) >= min)
    .sort(([a], [b]) => Number(b) - Number(a))
    .slice(0, MAX_VERSIONS);
  if (versions.length === 0)
    throw new SignatureError(
      'KEY_INVALID',
      `${ref.uri}: no key version at or above min_decryption_version ${min}`,
    );
  return versions.flatMap(([v, entry]) => {
    const label = `${ref.uri} version ${v}`;
    const publicKey = (entry as { public_key?: unknown } | null)?.public_key;
    if (typeof publicKey !== 'string' || publicKey === '')
      throw new SignatureError('KEY_INVALID', `${label}: no public_key`);
    // ed25519 keys come as the raw 32 bytes in base64, the others as PEM
    const input =
      type === 'ed25519'
        ? {
            der: Buffer.concat([
              Buffer.from('302a300506032b6570032100', 'hex'),
              Buffer.from(publicKey, 'base64'),
            ]),
          }
        : { pem: publicKey };
    return toKeyVersions(input, uses, label, v);
  });
}
