/**
 * The `attestations` policy section: its schema piece (also the CRD's, through policy.schema.ts) and
 * the rules a JSON schema cannot say (authorities as for signatures, unique names, CEL conditions
 * that parse and type-check, durations).
 */
import { Type, type Static } from '@sinclair/typebox';
import { ConfigError, errorMessage } from '../../errors.js';
import { parseMaxAge } from '../base/layers.js';
import { Authority, Duration, signatureSpecProblems } from '../signature/schema.js';
import { compileCondition, MAX_CONDITION_LENGTH, type CompiledCondition } from './cel.js';
import { toPredicateTypeURI } from './predicate-types.js';

export const AttestationSpec = Type.Object(
  {
    name: Type.String({
      minLength: 1,
      maxLength: 63,
      pattern: '^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$',
      description: 'Names the attestation in messages and audit records.',
    }),
    predicateType: Type.String({
      minLength: 1,
      maxLength: 1024,
      description:
        'The in-toto predicate type: a URI compared exactly (e.g. https://spdx.dev/Document) or a cosign ' +
        'short name (slsaprovenance, slsaprovenance02, slsaprovenance1, spdx, spdxjson, cyclonedx, link, ' +
        'vuln, openvex, custom) standing for the URI cosign maps it to.',
    }),
    authorities: Type.Array(Authority, { minItems: 1, maxItems: 32 }),
    transparencyLog: Type.Optional(Type.Union([Type.Literal('required'), Type.Literal('optional')])),
    threshold: Type.Optional(Type.Integer({ minimum: 1, maximum: 32 })),
    condition: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: MAX_CONDITION_LENGTH,
        description: 'CEL expression over predicate, statement, image and now; must be true.',
      }),
    ),
    maxAge: Type.Optional({
      ...Duration,
      description: 'The verified signing time (Rekor or RFC 3161) of the attestation within this, e.g. 7d.',
    }),
  },
  {
    additionalProperties: false,
    description: 'An attestation the image must carry, verified by one of its authorities.',
  },
);

export const AttestationsSpec = Type.Array(AttestationSpec, {
  minItems: 1,
  maxItems: 16,
  description: 'Attestations every image must carry (SBOM, provenance, vulnerability scan, …).',
});

export type AttestationSpec = Static<typeof AttestationSpec>;
export type AttestationsSpec = Static<typeof AttestationsSpec>;

/** The parts of a required attestation that need no trust material: names, conditions, maxAge. */
export interface AttestationRuleSpec {
  name: string;
  /** The URI (a cosign short name resolved). */
  predicateType: string;
  condition?: CompiledCondition;
  maxAge?: { text: string; ms: number };
}

/** Compiles conditions and durations; throws POLICY_INVALID naming the field and the position. */
export function compileAttestationRules(
  specs: readonly AttestationSpec[],
  where: string,
): AttestationRuleSpec[] {
  const names = new Set<string>();
  return specs.map((spec, i) => {
    const at = `${where}[${i}]`;
    if (names.has(spec.name)) {
      throw new ConfigError('POLICY_INVALID', `${at}.name: attestation name "${spec.name}" repeats`);
    }
    names.add(spec.name);
    return {
      name: spec.name,
      predicateType: toPredicateTypeURI(spec.predicateType, `${at}.predicateType`),
      ...(spec.condition !== undefined
        ? { condition: compileCondition(spec.condition, `${at}.condition`) }
        : {}),
      ...(spec.maxAge !== undefined
        ? { maxAge: { text: spec.maxAge, ms: parseMaxAge(spec.maxAge, `${at}.maxAge`) } }
        : {}),
    };
  });
}

/** Problems of a (schema-valid) attestations section at `where` (`spec.attestations`); none: []. */
export function attestationsSpecProblems(specs: AttestationsSpec, where: string): string[] {
  const problems = specs.flatMap((spec, i) => signatureSpecProblems(spec, `${where}[${i}]`));
  try {
    compileAttestationRules(specs, where);
  } catch (err) {
    problems.push(errorMessage(err));
  }
  return problems;
}
