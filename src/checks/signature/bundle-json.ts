/**
 * Sigstore bundles from JSON, with failures that say what is invalid: @sigstore/bundle throws
 * "invalid bundle" and lists the fields in a property messages would otherwise drop.
 */
import { bundleFromJSON, ValidationError, type Bundle } from '@sigstore/bundle';
import { errorMessage } from '../../errors.js';

/** Fields named in a message; more are counted. */
const MAX_FIELDS = 6;

/** `bundleFromJSON`, throwing an Error whose message names the invalid fields (or the parse failure). */
export function toBundleFromJSON(json: unknown): Bundle {
  try {
    return bundleFromJSON(json);
  } catch (err) {
    if (err instanceof ValidationError) {
      const fields = Array.isArray(err.fields) ? err.fields.map(String) : [];
      const shown = fields.slice(0, MAX_FIELDS).join(', ');
      const more = fields.length > MAX_FIELDS ? ` and ${fields.length - MAX_FIELDS} more` : '';
      throw new Error(
        fields.length > 0
          ? `${err.message}: missing or invalid ${shown}${more}`
          : `${err.message} (no field named)`,
      );
    }
    throw new Error(`invalid bundle: ${errorMessage(err)}`);
  }
}
