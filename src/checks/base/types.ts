/** The base check's codes, proof levels and attempts: shared by its modules, re-exported by index.ts. */
import type { BaseClaim } from './claims.js';

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

/** One claim's proof for one platform, as far as it got. */
export interface Attempt {
  passed: boolean;
  code: BaseCode;
  reached: Reached;
  claim: BaseClaim;
  /** The base digest that was checked (claimed or resolved). */
  digest?: string;
  /** Message parts, joined with '; '. */
  parts: string[];
  signedAt?: string;
}
