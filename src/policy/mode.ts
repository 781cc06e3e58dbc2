/** The operator's `--mode` override against each policy's own mode: the one rule, pure. */
import type { PolicyMode } from './policy.schema.js';

/** The mode a policy runs in: the override when the operator set one, else the policy's own. */
export function effectiveMode(policyMode: PolicyMode, override: PolicyMode | undefined): PolicyMode {
  return override ?? policyMode;
}
