/**
 * Public keys held in key services (`signature.authorities[].key.kms`): reader.ts builds the reader,
 * cache.ts keeps its answers, one file per service (aws, gcp, azure, vault), key-material.ts turns
 * answers into verification keys.
 */
export { createKmsKeyReader, type KmsReader, type KmsReaderOptions } from './reader.js';
export {
  KmsKeyCache,
  type KmsCacheOptions,
  type KmsCacheCounters,
  type KmsService,
  type KmsServiceStatus,
} from './cache.js';
export { awsKeyUse } from './aws.js';
export { gcpKeyUse } from './gcp.js';
export { azureKeyUse } from './azure.js';
export { vaultKeyUses } from './vault.js';
export { KmsProbe, kmsRefsOf, type KmsKeyProblem } from './probe.js';
