/**
 * Policy authorities compiled once: PEM keys parsed, identity patterns anchored, trusted-root names
 * checked. A compiled authority is plain data the verifier reads per signature.
 */
import { createPublicKey, createHash, type KeyObject } from 'node:crypto';
import { ConfigError, SignatureError, errorMessage } from '../../errors.js';
import {
  compileIdentityPattern,
  signatureSpecProblems,
  type Authority,
  type SignatureSpec,
} from './schema.js';
import { compileClaims, type ClaimMatcher } from './fulcio-claims.js';
import { PUBLIC_GOOD, type TrustedRootStore } from './trusted-roots.js';

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

export interface Matcher {
  /** `"x"` for exact values, `/^(?:x)$/` for patterns: what denial messages show as "wanted". */
  readonly describe: string;
  test(value: string): boolean;
}

export type TransparencyLogMode = 'required' | 'optional';

interface AuthorityBase {
  /** The policy's name, or `authority[i]` when unnamed. */
  name: string;
  transparencyLog: TransparencyLogMode;
  /** Trusted root whose logs (and CAs, for keyless) are used. */
  trustedRoot: string;
}

export interface KeyAuthority extends AuthorityBase {
  kind: 'key';
  hashAlgorithm: 'sha256' | 'sha384' | 'sha512';
  /** Resolves the public key (secretRef keys are read per use; the reader may cache). */
  publicKey(signal: AbortSignal): Promise<{ key: KeyObject; id: string }>;
}

export interface KeylessAuthority extends AuthorityBase {
  kind: 'keyless';
  issuer: Matcher;
  subject: Matcher;
  /** Fulcio certificate extensions that must match (`claims`); empty when none are required. */
  claims: ClaimMatcher[];
}

export type CompiledAuthority = KeyAuthority | KeylessAuthority;

export interface CompiledSignatureSpec {
  authorities: CompiledAuthority[];
  threshold: number;
}

export interface AuthorityDeps {
  trustedRoots: Pick<TrustedRootStore, 'has'>;
  secrets?: KeySecretReader;
}

const SUPPORTED_CURVES = new Set(['prime256v1', 'secp384r1', 'secp521r1']);

/** Parses a PEM public key and returns it with a short id (`SHA256:<b64 of SPKI hash>`, as cosign). */
export function parsePublicKey(pem: string): { key: KeyObject; id: string } {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (err) {
    throw new Error(`not a PEM public key: ${errorMessage(err)}`);
  }
  const type = key.asymmetricKeyType;
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve ?? 'unknown';
    if (!SUPPORTED_CURVES.has(curve)) throw new Error(`unsupported EC curve ${curve}`);
  } else if (type !== 'rsa' && type !== 'ed25519') {
    throw new Error(`unsupported key type ${type ?? 'unknown'} (want ECDSA, RSA or Ed25519)`);
  }
  const spki = key.export({ format: 'der', type: 'spki' });
  const id = `SHA256:${createHash('sha256').update(spki).digest('base64').replace(/=+$/, '')}`;
  return { key, id };
}

function exact(value: string): Matcher {
  return { describe: value, test: (v) => v === value };
}

function pattern(source: string): Matcher {
  return compileIdentityPattern(source);
}

/** `signatureSpecProblems` has made sure exactly one of the two is given. */
function oneOf(value: string | undefined, regexp: string | undefined): Matcher {
  return value !== undefined ? exact(value) : pattern(regexp!);
}

function compileAuthority(
  a: Authority,
  index: number,
  spec: Pick<SignatureSpec, 'transparencyLog'>,
  where: string,
  deps: AuthorityDeps,
): CompiledAuthority {
  const name = a.name ?? `authority[${index}]`;
  const at = `${where}.authorities[${index}] ("${name}")`;
  const checkRoot = (root: string): string => {
    if (root !== PUBLIC_GOOD && !deps.trustedRoots.has(root)) {
      throw new ConfigError(
        'POLICY_INVALID',
        `${at}: trusted root "${root}" is not configured (add --trusted-root ${root}=FILE)`,
      );
    }
    return root;
  };
  if (a.keyless !== undefined) {
    const k = a.keyless;
    return {
      kind: 'keyless',
      name,
      transparencyLog: spec.transparencyLog ?? 'required',
      trustedRoot: checkRoot(k.trustedRoot ?? PUBLIC_GOOD),
      issuer: oneOf(k.issuer, k.issuerRegExp),
      subject: oneOf(k.subject, k.subjectRegExp),
      claims: compileClaims(k.claims, `${at}.keyless`),
    };
  }
  const k = a.key!;
  let publicKey: KeyAuthority['publicKey'];
  if (k.pem !== undefined) {
    let parsed: { key: KeyObject; id: string };
    try {
      parsed = parsePublicKey(k.pem);
    } catch (err) {
      throw new ConfigError('POLICY_INVALID', `${at}.key.pem: ${errorMessage(err)}`);
    }
    publicKey = () => Promise.resolve(parsed);
  } else {
    const ref = k.secretRef!;
    const secrets = deps.secrets;
    const label = `secret ${ref.namespace !== undefined ? `${ref.namespace}/` : ''}${ref.name} key ${ref.key}`;
    const cache = new Map<string, { key: KeyObject; id: string }>();
    publicKey = async (signal) => {
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
      const hit = cache.get(pem);
      if (hit !== undefined) return hit;
      try {
        const parsed = parsePublicKey(pem);
        cache.clear();
        cache.set(pem, parsed);
        return parsed;
      } catch (err) {
        throw new SignatureError('KEY_INVALID', `${at}: ${label}: ${errorMessage(err)}`);
      }
    };
  }
  return {
    kind: 'key',
    name,
    // Key signatures (e.g. `cosign sign --key … --tlog-upload=false`) often have no log entry.
    transparencyLog: spec.transparencyLog ?? 'optional',
    trustedRoot: checkRoot(k.trustedRoot ?? PUBLIC_GOOD),
    hashAlgorithm: k.hashAlgorithm ?? 'sha256',
    publicKey,
  };
}

/** Compiles a policy's signature section; throws ConfigError POLICY_INVALID with the field path. */
export function compileAuthorities(
  spec: Pick<SignatureSpec, 'authorities' | 'threshold' | 'transparencyLog'>,
  where: string,
  deps: AuthorityDeps,
): CompiledSignatureSpec {
  const problems = signatureSpecProblems(spec, where);
  if (problems.length > 0) throw new ConfigError('POLICY_INVALID', problems.join('; '));
  const authorities = spec.authorities.map((a, i) => compileAuthority(a, i, spec, where, deps));
  const threshold = spec.threshold ?? 1;
  return { authorities, threshold };
}
