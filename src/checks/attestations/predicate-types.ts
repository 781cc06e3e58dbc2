/**
 * The `predicateType` of a required attestation: an absolute URI, compared exactly, or one of the
 * short names cosign's `attest --type` / `verify-attestation --type` accept, mapped to the URI
 * cosign maps it to (cmd/cosign/cli/options/predicate.go, cosign v3). Anything else is refused at
 * load: it would never match a statement and silently deny (or, in audit, never pass).
 */
import { ConfigError } from '../../errors.js';

const SLSA_V02 = 'https://slsa.dev/provenance/v0.2';
const SPDX = 'https://spdx.dev/Document';

/** cosign's short names → predicate type URIs. */
export const COSIGN_PREDICATE_TYPES: Readonly<Record<string, string>> = Object.freeze({
  custom: 'https://cosign.sigstore.dev/attestation/v1',
  slsaprovenance: SLSA_V02,
  slsaprovenance02: SLSA_V02,
  slsaprovenance1: 'https://slsa.dev/provenance/v1',
  spdx: SPDX,
  spdxjson: SPDX,
  cyclonedx: 'https://cyclonedx.org/bom',
  link: 'https://in-toto.io/Link/v1',
  vuln: 'https://cosign.sigstore.dev/attestation/vuln/v1',
  openvex: 'https://openvex.dev/ns',
});

/** RFC 3986 absolute URI: a scheme, a colon, then something; no whitespace or control characters. */
const ABSOLUTE_URI = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s\p{Cc}]+$/u;

/** The URI `value` stands for; throws POLICY_INVALID (naming `where`) for anything else. */
export function toPredicateTypeURI(value: string, where: string): string {
  const short = Object.hasOwn(COSIGN_PREDICATE_TYPES, value) ? COSIGN_PREDICATE_TYPES[value] : undefined;
  if (short !== undefined) return short;
  if (ABSOLUTE_URI.test(value)) return value;
  throw new ConfigError(
    'POLICY_INVALID',
    `${where}: predicateType "${value}" is neither a URI (e.g. https://spdx.dev/Document) nor one of ` +
      `cosign's short names (${Object.keys(COSIGN_PREDICATE_TYPES).join(', ')})`,
  );
}
