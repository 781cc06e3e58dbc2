/**
 * Validation of ImagePolicy documents against the schema (the same one the CRD is generated from),
 * plus the semantic rules a JSON schema cannot say, which each check section states (src/checks/kinds.ts).
 * Errors name the document, the field and the problem.
 */
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { nearestName } from '../shared/nearest.js';
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

/** The forms a size field takes; TypeBox alone says "Expected union value". */
const SIZE_FORMS =
  'must be a size: bytes (104857600) or a Kubernetes quantity such as 100Mi, 1Gi or 500M (suffixes Ki Mi Gi Ti Pi Ei, or k M G T P E; not MB or GB)';

/** One schema error in words: the allowed values, the size forms, or the field name meant. */
function explain(e: ValueError): string {
  const allowed = allowedValues(e.schema);
  if (allowed !== undefined) return `must be one of ${allowed.join(', ')}`;
  if ((e.schema as Record<string, unknown>)['x-kubernetes-int-or-string'] === true) return SIZE_FORMS;
  if (e.type === ValueErrorType.ObjectAdditionalProperties) {
    const key = e.path
      .slice(e.path.lastIndexOf('/') + 1)
      .replace(/~1/g, '/')
      .replace(/~0/g, '~');
    const known = Object.keys((e.schema as { properties?: Record<string, unknown> }).properties ?? {});
    const meant = nearestName(key, known);
    if (meant !== undefined) return `unknown field; did you mean "${meant}"?`;
    return `unknown field (this section has: ${known.join(', ')})`;
  }
  return e.message;
}

/** A document's schema errors in words (at most 10), as `field: problem (found value)`. */
export function schemaProblems(
  schema: { Errors(value: unknown): Iterable<ValueError> },
  doc: unknown,
): string[] {
  const problems: string[] = [];
  for (const e of schema.Errors(doc)) {
    const path = fieldPath(e.path) || '(document)';
    const found = e.value === undefined ? 'missing' : JSON.stringify(e.value)?.slice(0, 80);
    problems.push(`${path}: ${explain(e)} (found ${found})`);
    if (problems.length >= 10) break;
  }
  return problems;
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
  const problems = schemaProblems(checker, doc);
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
