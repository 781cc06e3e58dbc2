/**
 * Where a key authority's public keys come from: its `pem` (parsed once at load), a Secret
 * (`secretRef`, or `kms: k8s://NS/NAME`, cosign's shorthand for the Secret's `cosign.pub`), or a key
 * service (`kms: awskms://…` and the others), whose reader answers every enabled key version.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import type { Static } from '@sinclair/typebox';
import { ConfigError, SignatureError, errorMessage } from '../../errors.js';
import { parseKmsUri, type KmsReference } from '../../shared/kms-uri.js';
import type { KeyAuthority as KeyAuthoritySpec } from './schema.js';

export interface SecretKeyReference {
  /** Default: the namespace imagegate runs in (the reader decides). */
  namespace?: string;
  name: string;
  key: string;
}

/**
 * Reads a key stored in a Kubernetes Secret (the server wires @kubernetes/client-node). Errors
 * become an indeterminate SECRET_UNAVAILABLE; the reader may cache.
 */
export interface KeySecretReader {
  read(ref: SecretKeyReference, signal: AbortSignal): Promise<string>;
}

const SUPPORTED_CURVES = new Set(['prime256v1', 'secp384r1', 'secp521r1']);

/** cosign's key id: `SHA256:<unpadded b64 of the SPKI's SHA-256>`. */
export function keyIdOf(key: KeyObject): string {
  const spki = key.export({ format: 'der', type: 'spki' });
  return `SHA256:${createHash('sha256').update(spki).digest('base64').replace(/=+$/, '')}`;
}

/** Throws unless `key` is a public key imagegate verifies with (ECDSA P-256/384/521, RSA, Ed25519). */
export function assertSupportedKey(key: KeyObject): void {
  const type = key.asymmetricKeyType;
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve ?? 'unknown';
    if (!SUPPORTED_CURVES.has(curve)) throw new Error(`unsupported EC curve ${curve}`);
  } else if (type !== 'rsa' && type !== 'ed25519') {
    throw new Error(`unsupported key type ${type ?? 'unknown'} (want ECDSA, RSA or Ed25519)`);
  }
}

/** Parses a PEM public key and returns it with a short id (`SHA256:<b64 of SPKI hash>`, as cosign). */
export function parsePublicKey(pem: string): { key: KeyObject; id: string } {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (err) {
    throw new Error(`not a PEM public key: ${errorMessage(err)}`);
  }
  assertSupportedKey(key);
  return { key, id: keyIdOf(key) };
}

/** One public key an authority accepts (a KMS key has one per enabled version). */
export interface PublicKeyVersion {
  key: KeyObject;
  /** `SHA256:<b64 of the SPKI hash>`, as cosign names keys: what verdicts and audit records show. */
  id: string;
  /** The digest signatures under this key use, from the key service's metadata; default sha256. */
  hash?: 'sha256' | 'sha384' | 'sha512';
  /** Distinguishes the same key material used two ways (RSA PKCS#1 v1.5 and PSS); part of the verifier's cache key. */
  variant?: string;
  /** The key service's name for this version (for messages), e.g. `cryptoKeyVersions/2`. */
  version?: string;
  /**
   * Key services only: epoch ms until which the service's answer is taken as current (when the
   * reader's cache asks again). A verdict or evidence resting on this key is not reused past it, so a
   * version disabled at the service stops admitting once the reader's refresh has seen it.
   */
  freshUntil?: number;
}

/** A key service reference that is not a Kubernetes Secret (those are read through KeySecretReader). */
export type KmsKeyReference = Exclude<KmsReference, { provider: 'k8s' }>;

/**
 * Fetches public keys from key services (src/kms/ is the implementation). Throws SignatureError
 * KMS_UNAVAILABLE (indeterminate) when the service gives no usable answer and nothing good is cached,
 * KEY_INVALID when it answers with key material imagegate cannot use.
 */
export interface KmsKeyReader {
  keys(ref: KmsKeyReference, signal: AbortSignal): Promise<readonly PublicKeyVersion[]>;
  /**
   * The keys fetched again now, unless they were fetched within a short interval (a version created
   * since the last hourly refresh: a rotation must not deny its first signatures for an hour). What
   * the service answered, or the last good keys when it does not answer.
   */
  refresh?(ref: KmsKeyReference, signal: AbortSignal): Promise<readonly PublicKeyVersion[]>;
}

export interface KeySourceDeps {
  secrets?: KeySecretReader;
  kms?: KmsKeyReader;
}

export interface PublicKeys {
  (signal: AbortSignal): Promise<readonly PublicKeyVersion[]>;
  /** Key services only: asks again when no key verified (KmsKeyReader.refresh). */
  refresh?: (signal: AbortSignal) => Promise<readonly PublicKeyVersion[]>;
}

/** The Secret a `k8s://NAMESPACE/NAME` reference names: cosign's `cosign.pub`. */
export const COSIGN_PUB = 'cosign.pub';

function fromSecret(ref: SecretKeyReference, at: string, secrets: KeySecretReader | undefined): PublicKeys {
  const label = `secret ${ref.namespace !== undefined ? `${ref.namespace}/` : ''}${ref.name} key ${ref.key}`;
  let last: { pem: string; versions: PublicKeyVersion[] } | undefined;
  return async (signal) => {
    if (secrets === undefined) {
      throw new SignatureError(
        'SECRET_UNAVAILABLE',
        `${at}: cannot read ${label}: no secret reader configured`,
        {
          indeterminate: true,
        },
      );
    }
    let pem: string;
    try {
      pem = await secrets.read(ref, signal);
    } catch (err) {
      throw new SignatureError('SECRET_UNAVAILABLE', `${at}: cannot read ${label}: ${errorMessage(err)}`, {
        indeterminate: true,
        cause: err,
      });
    }
    if (last?.pem === pem) return last.versions;
    try {
      const versions = [parsePublicKey(pem)];
      last = { pem, versions };
      return versions;
    } catch (err) {
      throw new SignatureError('KEY_INVALID', `${at}: ${label}: ${errorMessage(err)}`);
    }
  };
}

function fromKms(ref: KmsKeyReference, at: string, kms: KmsKeyReader | undefined): PublicKeys {
  const ask = async (
    how: (r: KmsKeyReader) => Promise<readonly PublicKeyVersion[]>,
  ): Promise<readonly PublicKeyVersion[]> => {
    if (kms === undefined) {
      throw new SignatureError(
        'KMS_UNAVAILABLE',
        `${at}: cannot fetch ${ref.uri}: no key service reader configured`,
        {
          indeterminate: true,
        },
      );
    }
    try {
      return await how(kms);
    } catch (err) {
      if (err instanceof SignatureError) {
        throw new SignatureError(err.code, `${at}: ${err.message}`, {
          indeterminate: err.indeterminate,
          cause: err,
        });
      }
      throw new SignatureError('KMS_UNAVAILABLE', `${at}: cannot fetch ${ref.uri}: ${errorMessage(err)}`, {
        indeterminate: true,
        cause: err,
      });
    }
  };
  const keys: PublicKeys = (signal) => ask((r) => r.keys(ref, signal));
  const refresh = kms?.refresh;
  if (refresh !== undefined) keys.refresh = (signal) => ask((r) => refresh.call(r, ref, signal));
  return keys;
}

/** Compiles `key` (schema-valid, exactly one source given) into its key lookup; throws POLICY_INVALID. */
export function compileKeySource(
  k: Static<typeof KeyAuthoritySpec>,
  at: string,
  deps: KeySourceDeps,
): PublicKeys {
  if (k.pem !== undefined) {
    let parsed: PublicKeyVersion[];
    try {
      parsed = [parsePublicKey(k.pem)];
    } catch (err) {
      throw new ConfigError('POLICY_INVALID', `${at}.key.pem: ${errorMessage(err)}`);
    }
    return () => Promise.resolve(parsed);
  }
  if (k.secretRef !== undefined) return fromSecret(k.secretRef, at, deps.secrets);
  let ref: KmsReference;
  try {
    ref = parseKmsUri(k.kms!);
  } catch (err) {
    throw new ConfigError('POLICY_INVALID', `${at}.key.kms: ${errorMessage(err)}`);
  }
  if (ref.provider === 'k8s') {
    return fromSecret({ namespace: ref.namespace, name: ref.name, key: COSIGN_PUB }, at, deps.secrets);
  }
  return fromKms(ref, at, deps.kms);
}
