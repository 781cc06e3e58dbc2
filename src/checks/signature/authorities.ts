/**
 * Policy authorities compiled once: PEM keys parsed, identity patterns anchored, trusted-root names
 * checked. A compiled authority is plain data the verifier reads per signature.
 */
import { ConfigError } from '../../errors.js';
import {
  compileIdentityPattern,
  signatureSpecProblems,
  type Authority,
  type SignatureSpec,
} from './schema.js';
import { compileClaims, type ClaimMatcher } from './fulcio-claims.js';
import { PUBLIC_GOOD, type TrustedRootStore } from './trusted-roots.js';
import { compileKeySource, type KeySourceDeps, type PublicKeys } from './key-source.js';

export { parsePublicKey } from './key-source.js';
export type { KeySecretReader, KmsKeyReader, PublicKeyVersion, SecretKeyReference } from './key-source.js';

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
  /**
   * Resolves the public keys (one for pem and Secret keys, every enabled version for a KMS key): read
   * per use, the readers cache.
   */
  publicKeys: PublicKeys;
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

export interface AuthorityDeps extends KeySourceDeps {
  trustedRoots: Pick<TrustedRootStore, 'has'>;
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
  const publicKeys = compileKeySource(k, at, deps);
  return {
    kind: 'key',
    name,
    // Key signatures (e.g. `cosign sign --key … --tlog-upload=false`) often have no log entry.
    transparencyLog: spec.transparencyLog ?? 'optional',
    trustedRoot: checkRoot(k.trustedRoot ?? PUBLIC_GOOD),
    hashAlgorithm: k.hashAlgorithm ?? 'sha256',
    publicKeys,
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
