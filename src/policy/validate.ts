/**
 * Validation of ImagePolicy documents against the schema (the same one the CRD is generated from),
 * plus the semantic rules a JSON schema cannot say, which each check section states (src/checks/kinds.ts).
 * Errors name the document, the field and the problem.
 */
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ConfigError } from '../errors.js';
import { checkSectionProblems } from '../checks/kinds.js';
import { imageGlobProblems } from './glob-check.js';
import { ImagePolicyDocument, POLICY_API_VERSION, POLICY_KIND } from './policy.schema.js';

const checker = TypeCompiler.Compile(ImagePolicyDocument);

function fieldPath(pointer: string): string {
  // JSON pointer /spec/images/0/glob → spec.images[0].glob
  return pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc === '' ? p : `${acc}.${p}`), '');
}

/** The values an enum (a union of string literals) allows, for messages; else undefined. */
function allowedValues(schema: unknown): string[] | undefined {
  const options = (schema as { anyOf?: unknown }).anyOf;
  if (!Array.isArray(options) || options.length === 0) return undefined;
  const values = options.map((o) => (o as { const?: unknown }).const);
  return values.every((v): v is string => typeof v === 'string') ? values : undefined;
}

/**
 * Validates one parsed YAML/JSON document. `source` names it in errors (file#index or CR name).
 * Returns the typed document or throws ConfigError('POLICY_INVALID') listing every problem.
 */
export function validatePolicyDocument(doc: unknown, source: string): ImagePolicyDocument {
  const name =
    typeof doc === 'object' &&
    doc !== null &&
    typeof (doc as { metadata?: { name?: unknown } }).metadata?.name === 'string'
      ? (doc as { metadata: { name: string } }).metadata.name
      : undefined;
  const where = name === undefined ? source : `${source} (ImagePolicy "${name}")`;
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new ConfigError('POLICY_INVALID', `${where}: not a YAML mapping`);
  }
  const d = doc as { apiVersion?: unknown; kind?: unknown };
  if (d.kind !== POLICY_KIND || d.apiVersion !== POLICY_API_VERSION) {
    throw new ConfigError(
      'POLICY_INVALID',
      `${where}: expected apiVersion ${POLICY_API_VERSION} and kind ${POLICY_KIND}, found ${String(d.apiVersion)} ${String(d.kind)}`,
    );
  }
  const problems: string[] = [];
  for (const e of checker.Errors(doc)) {
    const path = fieldPath(e.path) || '(document)';
    const found = e.value === undefined ? 'missing' : JSON.stringify(e.value)?.slice(0, 80);
    const allowed = allowedValues(e.schema);
    problems.push(
      `${path}: ${allowed !== undefined ? `must be one of ${allowed.join(', ')}` : e.message} (found ${found})`,
    );
    if (problems.length >= 10) break;
  }
  // The rules a schema cannot say belong to each check section (src/checks/kinds.ts).
  // Globs that can never match a normalised reference are refused with the form to write (glob-check.ts).
  if (problems.length === 0) {
    const spec = (doc as ImagePolicyDocument).spec;
    problems.push(...imageGlobProblems(spec), ...checkSectionProblems(spec));
  }
  if (problems.length > 0) {
    throw new ConfigError('POLICY_INVALID', `${where}: invalid policy: ${problems.join('; ')}`);
  }
  return doc as ImagePolicyDocument;
}
