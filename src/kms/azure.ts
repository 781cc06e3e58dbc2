/**
 * Azure Key Vault (REST, api-version 7.4): the key's versions (`GET /keys/NAME/versions`), then each
 * enabled one's JWK (`GET /keys/NAME/VERSION`); a URI naming a version fetches only it. The token is
 * sent to the vault the policy names and nowhere else: listing pages that point at another origin are
 * refused. Access: Key Vault "Crypto User"-style keys/get and keys/list (RBAC: Key Vault Crypto User
 * or Reader on keys; access policy: Get, List).
 */
import type { JsonWebKey } from 'node:crypto';
import type { Dispatcher } from 'undici';
import type { PublicKeyVersion } from '../checks/signature/index.js';
import { SignatureError } from '../errors.js';
import type { KmsReference } from '../shared/kms-uri.js';
import { HttpFailure, getJsonObject } from './http.js';
import { toKeyVersions, type KeyUse } from './key-material.js';
import type { BearerToken } from './tokens.js';

type AzureReference = Extract<KmsReference, { provider: 'azure' }>;

const API_VERSION = '7.4';
const MAX_VERSIONS = 100;
const MAX_PAGES = 5;

const HINTS: Record<number, string> = {
  401: 'the token was refused',
  403: "imagegate's identity needs keys/get and keys/list on the vault (Key Vault Crypto User)",
  404: 'no such key in this vault: check the azurekms:// reference',
};

/**
 * How cosign signs with a Key Vault key (sigstore's azure signer): RSA with PKCS#1 v1.5 and SHA-256,
 * -384 or -512 by modulus size; EC with the curve's own hash.
 */
export function azureKeyUse(jwk: JsonWebKey): KeyUse | undefined {
  const kty = String(jwk.kty ?? '').replace(/-HSM$/, '');
  if (kty === 'EC') {
    const byCurve: Record<string, KeyUse> = {
      'P-256': { hash: 'sha256' },
      'P-384': { hash: 'sha384' },
      'P-521': { hash: 'sha512' },
    };
    return byCurve[String(jwk.crv)];
  }
  if (kty === 'RSA' && typeof jwk.n === 'string') {
    const bits = Buffer.from(jwk.n, 'base64url').length * 8;
    return { padding: 'pkcs1', hash: bits >= 4096 ? 'sha512' : bits >= 3072 ? 'sha384' : 'sha256' };
  }
  return undefined;
}

export async function azureKeys(
  ref: AzureReference,
  token: BearerToken,
  dispatcher: Dispatcher | undefined,
  signal: AbortSignal,
): Promise<PublicKeyVersion[]> {
  const origin = `https://${ref.vaultHost}`;
  const headers = { authorization: `Bearer ${await token.get(signal)}` };
  const get = (url: URL): Promise<Record<string, unknown>> => {
    if (url.origin !== origin) throw new HttpFailure(`refusing to follow a listing page to ${url.origin}`);
    url.searchParams.set('api-version', API_VERSION);
    return getJsonObject(
      url,
      { headers, signal, ...(dispatcher !== undefined ? { dispatcher } : {}) },
      (s) => HINTS[s] ?? '',
    );
  };
  const keyPath = `/keys/${encodeURIComponent(ref.keyName)}`;

  let versions: string[];
  if (ref.version !== undefined) {
    versions = [ref.version];
  } else {
    versions = [];
    let next: URL | undefined = new URL(`${keyPath}/versions`, origin);
    for (let page = 0; page < MAX_PAGES && next !== undefined; page++) {
      const answer = await get(next);
      for (const item of Array.isArray(answer.value) ? (answer.value as unknown[]) : []) {
        const { kid, attributes } = (item ?? {}) as { kid?: unknown; attributes?: { enabled?: unknown } };
        if (typeof kid !== 'string' || attributes?.enabled !== true) continue;
        const version = kid.slice(kid.lastIndexOf('/') + 1);
        if (/^[A-Za-z0-9]{1,64}$/.test(version)) versions.push(version);
      }
      next =
        typeof answer.nextLink === 'string' && answer.nextLink !== '' ? new URL(answer.nextLink) : undefined;
      if (versions.length >= MAX_VERSIONS) break;
    }
    if (versions.length === 0)
      throw new SignatureError('KEY_INVALID', `${ref.uri}: the key has no enabled version`);
  }
  const answers = await Promise.all(
    versions.slice(0, MAX_VERSIONS).map((v) => get(new URL(`${keyPath}/${v}`, origin))),
  );
  return answers.flatMap((answer, i) => {
    const label = `${ref.uri} version ${versions[i]!}`;
    const jwk = answer.key as JsonWebKey | undefined;
    const enabled = (answer.attributes as { enabled?: unknown } | undefined)?.enabled;
    if (enabled === false) throw new SignatureError('KEY_INVALID', `${label}: the version is disabled`);
    if (typeof jwk !== 'object' || jwk === null)
      throw new SignatureError('KEY_INVALID', `${label}: the answer has no key`);
    const use = azureKeyUse(jwk);
    if (use === undefined)
      throw new SignatureError(
        'KEY_INVALID',
        `${label}: key type ${String(jwk.kty)} is not one imagegate verifies (EC, RSA)`,
      );
    // only the public members: Key Vault never returns private ones, and createPublicKey must not see any
    const { kty, crv, x, y, n, e } = jwk;
    const pub = {
      kty: String(kty).replace(/-HSM$/, ''),
      ...(crv !== undefined ? { crv, x, y } : { n, e }),
    } as JsonWebKey;
    return toKeyVersions({ jwk: pub }, [use], label, versions[i]);
  });
}
