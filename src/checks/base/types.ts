/** The base check's codes and proof levels: shared by its modules, re-exported by index.ts. */

export type BaseCode =
  | 'OK'
  | 'BASE_NOT_CLAIMED'
  | 'BASE_NOT_ALLOWED'
  | 'BASE_CLAIM_INCONSISTENT'
  | 'BASE_NOT_FOUND'
  | 'BASE_SIGNATURE_INVALID'
  | 'BASE_TOO_OLD'
  | 'BASE_AGE_UNKNOWN'
  | 'BASE_NOT_PROVEN';

export type ProofLevel = 'claim' | 'signed' | 'layers';
/** How far an attempt got: `none` = not even allowed. */
export type Reached = 'none' | ProofLevel;
