/**
 * The audit record's shape: what record.ts builds, bound.ts bounds and json.ts serialises (each
 * imports it from here, so none of them imports another for its types).
 */
export type Decision = 'allowed' | 'denied';

export interface AuditCheck {
  check: string;
  passed: boolean;
  code: string;
  message: string;
  indeterminate?: boolean;
  /** The failure was let through by this ImagePolicyException (namespace/name, reason, expiry). */
  exemptedBy?: { exception: string; reason: string; expires: string };
  /** The check's structured facts (Finding.details: sizes, signers, base digests), when it gave any. */
  details?: Record<string, unknown>;
  durationMs: number;
}

export interface AuditPolicy {
  policy: string;
  mode: string;
  result: string;
  checks: AuditCheck[];
}

export interface AuditImage {
  image: string;
  reference?: string;
  digest?: string;
  unmatched?: string;
  /** An exclusion exempted the image from the unmatched rule: which policy and field. */
  exempt?: string;
  invalid?: string;
  policies: AuditPolicy[];
}

export interface AuditRecord {
  event: 'imagegate.decision';
  uid: string;
  operation: string;
  dryRun: boolean;
  user?: string;
  namespace: string;
  kind: string;
  name: string;
  /** Global mode override, when set. */
  mode?: string;
  decision: Decision;
  wouldDeny: boolean;
  /** Why nothing was checked (DELETE, unchanged images), when so. */
  skipped?: string;
  /** The first AUDIT_MAX_IMAGES images (bound.ts); the rest are counted in imagesOmitted. */
  images: AuditImage[];
  /** How many images the record leaves out (a pod naming more than AUDIT_MAX_IMAGES), when any. */
  imagesOmitted?: number;
  latencyMs: number;
}
