/**
 * The `signature` policy section: its schema piece (also the CRD's, through policy.schema.ts) and the
 * rules a JSON schema cannot say. `signatureSpecProblems` is the one definition of those rules: policy
 * validation reports them and compileAuthorities refuses a section that breaks them.
 */
import { Type, type Static, type TOptional, type TString } from '@sinclair/typebox';
import { errorMessage } from '../../errors.js';
import { CLAIM_NAMES, compileClaims } from './fulcio-claims.js';
import { compileIdentityPattern } from './identity-pattern.js';
import { parseKmsUri } from '../../shared/kms-uri.js';

const strict = { additionalProperties: false } as const;

export const SecretKeyRef = Type.Object(
  {
    namespace: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
    name: Type.String({ minLength: 1, maxLength: 253 }),
    key: Type.String({ minLength: 1, maxLength: 253 }),
  },
  strict,
);

export const KeyAuthority = Type.Object(
  {
    pem: Type.Optional(Type.String({ minLength: 1, maxLength: 16384, description: 'PEM public key.' })),
    secretRef: Type.Optional(SecretKeyRef),
    kms: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 2048,
        pattern: '^(awskms|gcpkms|azurekms|hashivault|k8s)://',
        description:
          "A key held in a KMS, by cosign's URI: awskms:///ARN|ID|alias/NAME, gcpkms://projects/P/locations/L/keyRings/R/cryptoKeys/K, azurekms://VAULT.vault.azure.net/KEY, hashivault://KEY, or k8s://NAMESPACE/SECRET (its cosign.pub). Public keys only; every enabled version verifies.",
      }),
    ),
    hashAlgorithm: Type.Optional(
      Type.Union([Type.Literal('sha256'), Type.Literal('sha384'), Type.Literal('sha512')]),
    ),
    trustedRoot: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 253,
        description:
          "Trusted root whose transparency logs and TSAs verify this key's entries; default public-good.",
      }),
    ),
  },
  {
    ...strict,
    description: 'A public key (ECDSA P-256/P-384, RSA, Ed25519): exactly one of pem, secretRef or kms.',
    'x-kubernetes-validations': [
      {
        rule: '[has(self.pem), has(self.secretRef), has(self.kms)].filter(x, x).size() == 1',
        message: 'exactly one of pem, secretRef or kms is required',
      },
    ],
  },
);

const claimValue = Type.Optional(Type.String({ minLength: 1, maxLength: 1024 }));

/** Fulcio certificate extensions by name, each exact or as an anchored `…RegExp` (unknown names: invalid). */
export const KeylessClaims = Type.Object(
  Object.fromEntries(
    CLAIM_NAMES.flatMap((n) => [
      [n, claimValue],
      [`${n}RegExp`, claimValue],
    ]),
  ) as Record<string, TOptional<TString>>,
  {
    ...strict,
    description:
      'Fulcio certificate extensions (OIDs 1.3.6.1.4.1.57264.1.*) that must match: exact, or NameRegExp (anchored).',
  },
);

/** `30s`, `15m`, `12h`, `7d`, `2w`. */
export const Duration = Type.String({ pattern: '^[0-9]+(s|m|h|d|w)$', description: 'e.g. 30d' });

export const KeylessAuthority = Type.Object(
  {
    issuer: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    issuerRegExp: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    subject: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    subjectRegExp: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    claims: Type.Optional(KeylessClaims),
    trustedRoot: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 253,
        description: 'Name of a trusted root; default public-good.',
      }),
    ),
  },
  {
    ...strict,
    description: 'A Fulcio identity: one of issuer/issuerRegExp and one of subject/subjectRegExp.',
  },
);

export const Authority = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })),
    key: Type.Optional(KeyAuthority),
    keyless: Type.Optional(KeylessAuthority),
  },
  { ...strict, description: 'Exactly one of key or keyless.' },
);

export const SignatureSpec = Type.Object(
  {
    authorities: Type.Array(Authority, { minItems: 1, maxItems: 32 }),
    transparencyLog: Type.Optional(Type.Union([Type.Literal('required'), Type.Literal('optional')])),
    threshold: Type.Optional(Type.Integer({ minimum: 1, maximum: 32 })),
    maxAge: Type.Optional({
      ...Duration,
      description:
        'Image freshness: the newest verified signing time (Rekor or RFC 3161) within this, e.g. 30d.',
    }),
  },
  strict,
);

export type SignatureSpec = Static<typeof SignatureSpec>;
export type Authority = Static<typeof Authority>;

/** Identity patterns: anchored, RE2 semantics (linear time on attacker-chosen SANs). */
export { compileIdentityPattern };

function authorityProblems(at: string, a: Authority, problems: string[]): void {
  if ((a.key === undefined) === (a.keyless === undefined)) {
    problems.push(`${at}: exactly one of "key" or "keyless" is required`);
  }
  if (a.key !== undefined) {
    const given = (['pem', 'secretRef', 'kms'] as const).filter((f) => a.key![f] !== undefined);
    if (given.length !== 1) {
      problems.push(
        `${at}.key: exactly one of "pem", "secretRef" or "kms" is required${given.length > 1 ? ` (found ${given.join(', ')})` : ''}`,
      );
    }
    if (a.key.kms !== undefined) {
      try {
        parseKmsUri(a.key.kms);
      } catch (err) {
        problems.push(`${at}.key.kms: ${errorMessage(err)}`);
      }
    }
  }
  if (a.keyless !== undefined) {
    const k = a.keyless;
    if ((k.issuer === undefined) === (k.issuerRegExp === undefined)) {
      problems.push(`${at}.keyless: exactly one of "issuer" or "issuerRegExp" is required`);
    }
    if ((k.subject === undefined) === (k.subjectRegExp === undefined)) {
      problems.push(`${at}.keyless: exactly one of "subject" or "subjectRegExp" is required`);
    }
    try {
      compileClaims(k.claims, `${at}.keyless`);
    } catch (err) {
      problems.push(errorMessage(err));
    }
    for (const field of ['issuerRegExp', 'subjectRegExp'] as const) {
      const source = k[field];
      if (source === undefined) continue;
      try {
        compileIdentityPattern(source);
      } catch (err) {
        problems.push(`${at}.keyless.${field}: ${errorMessage(err)}`);
      }
    }
  }
}

/** Problems of a (schema-valid) signature section at `where` (e.g. `spec.signature`); none: []. */
export function signatureSpecProblems(
  spec: Pick<SignatureSpec, 'authorities' | 'threshold'>,
  where: string,
): string[] {
  const problems: string[] = [];
  spec.authorities.forEach((a, i) => authorityProblems(`${where}.authorities[${i}]`, a, problems));
  const names = new Set<string>();
  spec.authorities.forEach((a, i) => {
    const name = a.name ?? `authority[${i}]`;
    if (names.has(name)) problems.push(`${where}: authority name "${name}" repeats`);
    names.add(name);
  });
  const t = spec.threshold;
  if (t !== undefined && t > spec.authorities.length) {
    problems.push(`${where}.threshold: ${t} is more than the ${spec.authorities.length} authorities`);
  }
  return problems;
}
