/** The base check (barrel): see check.ts for what it proves and how its modules divide the work. */
export { baseCheck, compileBaseCheck } from './check.js';
export { BaseSpec, BaseAllowed } from './schema.js';
export type { BaseCode, ProofLevel, Reached } from './types.js';
export { checkLayerPrefix, parseMaxAge } from './layers.js';
export { annotationClaim, materialImage, provenanceMaterials } from './claims.js';
