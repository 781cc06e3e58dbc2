/**
 * Keyless `claims`: Fulcio certificate extensions (OIDs 1.3.6.1.4.1.57264.1.*) named as Fulcio names
 * them (https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md), each matched exactly or by
 * an anchored `…RegExp`. The names are the policy schema's (policy.schema.ts lists the same table).
 */
import { ConfigError, errorMessage } from '../../errors.js';
import { compileIdentityPattern, type IdentityPattern } from './identity-pattern.js';

const FULCIO = '1.3.6.1.4.1.57264.1';

/** Claim name → OID. `raw` extensions (the older GitHub workflow ones) hold the bare string. */
export const FULCIO_CLAIMS = {
  issuer: { oid: `${FULCIO}.8`, raw: false },
  githubWorkflowTrigger: { oid: `${FULCIO}.2`, raw: true },
  githubWorkflowSHA: { oid: `${FULCIO}.3`, raw: true },
  githubWorkflowName: { oid: `${FULCIO}.4`, raw: true },
  githubWorkflowRepository: { oid: `${FULCIO}.5`, raw: true },
  githubWorkflowRef: { oid: `${FULCIO}.6`, raw: true },
  buildSignerURI: { oid: `${FULCIO}.9`, raw: false },
  buildSignerDigest: { oid: `${FULCIO}.10`, raw: false },
  runnerEnvironment: { oid: `${FULCIO}.11`, raw: false },
  sourceRepositoryURI: { oid: `${FULCIO}.12`, raw: false },
  sourceRepositoryDigest: { oid: `${FULCIO}.13`, raw: false },
  sourceRepositoryRef: { oid: `${FULCIO}.14`, raw: false },
  sourceRepositoryIdentifier: { oid: `${FULCIO}.15`, raw: false },
  sourceRepositoryOwnerURI: { oid: `${FULCIO}.16`, raw: false },
  sourceRepositoryOwnerIdentifier: { oid: `${FULCIO}.17`, raw: false },
  buildConfigURI: { oid: `${FULCIO}.18`, raw: false },
  buildConfigDigest: { oid: `${FULCIO}.19`, raw: false },
  buildTrigger: { oid: `${FULCIO}.20`, raw: false },
  runInvocationURI: { oid: `${FULCIO}.21`, raw: false },
  sourceRepositoryVisibilityAtSigning: { oid: `${FULCIO}.22`, raw: false },
} as const;

export type ClaimName = keyof typeof FULCIO_CLAIMS;
export const CLAIM_NAMES = Object.keys(FULCIO_CLAIMS) as ClaimName[];
/** The pre-v2 issuer extension, read when a certificate has no v2 one. */
const ISSUER_V1 = `${FULCIO}.1`;

/** One compiled claim requirement. */
export interface ClaimMatcher {
  name: ClaimName;
  /** `"x"` or `/^(?:x)$/`, for messages. */
  describe: string;
  test(value: string): boolean;
}

/** Extensions as sigstore-js's Signer exposes them (`identity.oids`): OID arcs and the raw value. */
export interface CertificateOid {
  oid?: { id: number[] };
  value: Uint8Array;
}

/** The policy's `claims` mapping (exact names and `…RegExp` names, validated by the schema). */
export type ClaimsSpec = Partial<Record<string, string>>;

/** Compiles `claims`; throws POLICY_INVALID for unknown names, both forms given, or a bad pattern. */
export function compileClaims(spec: ClaimsSpec | undefined, where: string): ClaimMatcher[] {
  if (spec === undefined) return [];
  for (const key of Object.keys(spec)) {
    const base = key.endsWith('RegExp') ? key.slice(0, -'RegExp'.length) : key;
    if (!Object.hasOwn(FULCIO_CLAIMS, base)) {
      throw new ConfigError(
        'POLICY_INVALID',
        `${where}.claims.${key}: unknown claim (known: ${CLAIM_NAMES.join(', ')}, each also as …RegExp)`,
      );
    }
  }
  const out: ClaimMatcher[] = [];
  for (const name of CLAIM_NAMES) {
    const exact = spec[name];
    const source = spec[`${name}RegExp`];
    if (exact !== undefined && source !== undefined) {
      throw new ConfigError('POLICY_INVALID', `${where}.claims: give ${name} or ${name}RegExp, not both`);
    }
    if (exact !== undefined) out.push({ name, describe: `"${exact}"`, test: (v) => v === exact });
    if (source !== undefined) {
      // Claim values come from certificates anyone can obtain: RE2 semantics, linear time.
      let pattern: IdentityPattern;
      try {
        pattern = compileIdentityPattern(source);
      } catch (err) {
        throw new ConfigError(
          'POLICY_INVALID',
          `${where}.claims.${name}RegExp: invalid regular expression: ${errorMessage(err)}`,
        );
      }
      out.push({ name, describe: pattern.describe, test: (v) => pattern.test(v) });
    }
  }
  return out;
}

/** A DER UTF8String (tag 0x0c) as text; undefined when `der` is not exactly one. */
function derUtf8(der: Uint8Array): string | undefined {
  if (der.length < 2 || der[0] !== 0x0c) return undefined;
  let len = der[1]!;
  let offset = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3 || der.length < 2 + n) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[2 + i]!;
    offset = 2 + n;
  }
  if (offset + len !== der.length) return undefined;
  return Buffer.from(der.subarray(offset)).toString('utf8');
}

/** The claim values a certificate carries (only the known Fulcio extensions). */
export function readClaims(oids: readonly CertificateOid[]): Partial<Record<ClaimName, string>> {
  const byOid = new Map<string, Uint8Array>();
  for (const o of oids) if (o.oid !== undefined) byOid.set(o.oid.id.join('.'), o.value);
  const out: Partial<Record<ClaimName, string>> = {};
  for (const name of CLAIM_NAMES) {
    const { oid, raw } = FULCIO_CLAIMS[name];
    let value = byOid.get(oid);
    let isRaw: boolean = raw;
    if (value === undefined && name === 'issuer') {
      value = byOid.get(ISSUER_V1);
      isRaw = true;
    }
    if (value === undefined) continue;
    const text = isRaw ? Buffer.from(value).toString('utf8') : derUtf8(value);
    if (text !== undefined) out[name] = text;
  }
  return out;
}

/** The first claim that does not match, as `claim X is "v" (wanted …)`; undefined when all match. */
export function claimMismatch(
  matchers: readonly ClaimMatcher[],
  oids: readonly CertificateOid[],
): string | undefined {
  if (matchers.length === 0) return undefined;
  const claims = readClaims(oids);
  for (const m of matchers) {
    const value = claims[m.name];
    if (value === undefined) return `whose certificate has no ${m.name} claim (wanted ${m.describe})`;
    if (!m.test(value)) {
      const shown = value.length > 200 ? `${value.slice(0, 200)}…` : value;
      return `whose certificate claim ${m.name} is "${shown}" (wanted ${m.describe})`;
    }
  }
  return undefined;
}
