/**
 * The attestation check (barrel): check.ts is the check and its policy section (schema.ts), verify.ts
 * gathers verified evidence per digest (evidence-cache.ts shares it), decide.ts applies threshold,
 * maxAge and the CEL condition (cel.ts, the one module using the CEL library).
 */
export { attestationsCheck, compileAttestationCheck } from './check.js';
export {
  AttestationSpec,
  AttestationsSpec,
  attestationsSpecProblems,
  compileAttestationRules,
} from './schema.js';
export { EvidenceCache, type EvidenceCacheOptions } from './evidence-cache.js';
export { MAX_ATTESTATION_BYTES, type AttestationDeps } from './verify.js';
export {
  compileCondition,
  DEFAULT_READ_BUDGET,
  MAX_CONDITION_LENGTH,
  type CompiledCondition,
  type ConditionInput,
} from './cel.js';
export type { AttestationResult, AttestationEvidence, DigestEvidence } from './types.js';
