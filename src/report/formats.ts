/**
 * `imagegate audit --output`'s formats: one table. The flag's allowed values (cli/args.ts), its
 * usage text (cli/usage.ts) and the rendering (cli/audit.ts) all follow from it; a new format is a
 * pure function of the AuditReport in this folder and one row here.
 */
import type { AuditReport } from '../cluster/result.js';
import { toAuditHtml } from './html.js';
import { toAuditJson, toAuditText } from './text.js';

export const AUDIT_OUTPUTS = {
  text: toAuditText,
  json: toAuditJson,
  html: toAuditHtml,
} as const satisfies Record<string, (report: AuditReport) => string>;

export type AuditOutput = keyof typeof AUDIT_OUTPUTS;

/** The format names in the table's order (the first is the default). */
export const AUDIT_OUTPUT_NAMES = Object.keys(AUDIT_OUTPUTS) as readonly AuditOutput[];
