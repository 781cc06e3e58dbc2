/**
 * Google Cloud KMS (REST v1): the key's ENABLED versions (`cryptoKeyVersions.list`, filtered), then
 * each one's `getPublicKey`; a URI naming one version fetches only it. IAM: roles/cloudkms.viewer
 * or a role with cloudkms.cryptoKeyVersions.list and cloudkms.cryptoKeyVersions.viewPublicKey.
 */
import type { Dispatcher } from 'undici';
import type { PublicKeyVersion } from '../checks/signature/index.js';
import type { KmsReference } from '../shared/kms-uri.js';
import { SignatureError } from '../errors.js';
import { getJsonObject } from './http.js';
import { toKeyVersions, type Hash, type KeyUse } from './key-material.js';
import type { BearerToken, Env } from './tokens.js';

type GcpReference = Extract<KmsReference, { provider: 'gcp' }>;

/** Versions read at most (a key rotated daily for three months); pages of the listing at most. */
const MAX_VERSIONS = 100;
const MAX_PAGES = 5;

/** Cloud KMS algorithm names → how signatures are made; raw PKCS#1 and unknown names: undefined. */
export function gcpKeyUse(algorithm: string): KeyUse | undefined {
  const rsa = /^RSA_SIGN_(PSS|PKCS1)_\d+_SHA(256|384|512)$/.exec(algorithm);
  if (rsa !== null) return { padding: rsa[1] === 'PSS' ? 'pss' : 'pkcs1', hash: `sha${rsa[2]}` as Hash };
  const ec = /^EC_SIGN_(?:P256|P384|SECP256K1)_SHA(256|384)$/.exec(algorithm);
  if (ec !== null) return { hash: `sha${ec[1]}` as Hash };
  if (algorithm === 'EC_SIGN_ED25519') return { hash: 'sha256' };
  return undefined;
}

/** CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS (gcloud's own override), else the public endpoint. */
export function cloudKmsEndpoint(env: Env): string {
  return (env.CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS ?? 'https://cloudkms.googleapis.com/').replace(
    /\/?$/,
    '/',
  );
}

const HINTS: Record<number, string> = {
  401: 'the access token was refused',
  403: "imagegate's identity needs cloudkms.cryptoKeyVersions.list and .viewPublicKey on the key (roles/cloudkms.viewer)",
  404: 'no such key: check the gcpkms:// reference',
};

export async function gcpKeys(
  ref: GcpReference,
  env: Env,
  token: BearerToken,
  dispatcher: Dispatcher | undefined,
  signal: AbortSignal,
): Promise<PublicKeyVersion[]> {
  const base = cloudKmsEndpoint(env);
  const headers = { authorization: `Bearer ${await token.get(signal)}` };
  const get = (path: string, query = ''): Promise<Record<string, unknown>> =>
    getJsonObject(
      new URL(`v1/${path}${query}`, base),
      { headers, signal, ...(dispatcher !== undefined ? { dispatcher } : {}) },
      (s) => HINTS[s] ?? '',
    );

  let names: string[];
  if (ref.version !== undefined) {
    names = [`${ref.keyName}/cryptoKeyVersions/${ref.version}`];
  } else {
    names = [];
    let pageToken: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const q = new URLSearchParams({ filter: 'state=ENABLED', pageSize: String(MAX_VERSIONS) });
      if (pageToken !== undefined) q.set('pageToken', pageToken);
      const answer = await get(`${ref.keyName}/cryptoKeyVersions`, `?${q.toString()}`);
      const versions = Array.isArray(answer.cryptoKeyVersions) ? (answer.cryptoKeyVersions as unknown[]) : [];
      for (const v of versions) {
        const { name, state } = (v ?? {}) as { name?: unknown; state?: unknown };
        // the filter is the server's; the state is checked here as well
        if (
          typeof name === 'string' &&
          state === 'ENABLED' &&
          name.startsWith(`${ref.keyName}/cryptoKeyVersions/`)
        )
          names.push(name);
      }
      pageToken =
        typeof answer.nextPageToken === 'string' && answer.nextPageToken !== ''
          ? answer.nextPageToken
          : undefined;
      if (pageToken === undefined || names.length >= MAX_VERSIONS) break;
    }
    if (names.length === 0) {
      throw new SignatureError('KEY_INVALID', `${ref.uri}: the key has no ENABLED version`);
    }
  }
  const answers = await Promise.all(names.slice(0, MAX_VERSIONS).map((name) => get(`${name}/publicKey`)));
  return answers.flatMap((answer, i) => {
    const label = `${ref.uri} version ${names[i]!.slice(names[i]!.lastIndexOf('/') + 1)}`;
    const algorithm = typeof answer.algorithm === 'string' ? answer.algorithm : '';
    const use = gcpKeyUse(algorithm);
    if (use === undefined)
      throw new SignatureError(
        'KEY_INVALID',
        `${label}: algorithm ${algorithm || '(none)'} is not a signing algorithm imagegate verifies`,
      );
    if (typeof answer.pem !== 'string')
      throw new SignatureError('KEY_INVALID', `${label}: the answer has no pem`);
    return toKeyVersions({ pem: answer.pem }, [use], label, names[i]!.slice(names[i]!.lastIndexOf('/') + 1));
  });
}
