/**
 * Loads ImagePolicy and ImagePolicyException documents from YAML files or directories of them
 * (start-up I/O). Multi-document YAML is supported; documents of other kinds in the same file are an
 * error so a typo never silently drops a policy.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ConfigError, errorMessage } from '../errors.js';
import type { ImagePolicyExceptionDocument } from './exception.schema.js';
import { EXCEPTION_KIND } from './exception.schema.js';
import { DEFAULT_MAX_EXCEPTION_MS, validateExceptionDocument, type ExceptionLimits } from './exceptions.js';
import {
  TENANT_POLICY_KIND,
  type ImagePolicyDocument,
  type NamespacedImagePolicyDocument,
} from './policy.schema.js';
import { validateTenantPolicyDocument } from './tenant.js';
import { validatePolicyDocument } from './validate.js';

/** What policy files hold. */
export interface PolicySources {
  policies: ImagePolicyDocument[];
  exceptions: ImagePolicyExceptionDocument[];
  /** NamespacedImagePolicies (policy/tenant.ts). */
  tenants: NamespacedImagePolicyDocument[];
}

const MAX_POLICY_FILE_BYTES = 4 * 1024 * 1024;
const YAML_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

export function parsePolicyYaml(text: string, source: string): ImagePolicyDocument[] {
  return parsePolicyDocuments(text, source).policies;
}

/** Every document of a file: ImagePolicies, and ImagePolicyExceptions checked against `limits`. */
export function parsePolicyDocuments(text: string, source: string, limits?: ExceptionLimits): PolicySources {
  const docs = parseAllDocuments(text);
  const out: PolicySources = { policies: [], exceptions: [], tenants: [] };
  docs.forEach((d, i) => {
    const where = docs.length > 1 ? `${source}#${i + 1}` : source;
    if (d.errors.length > 0) {
      throw new ConfigError(
        'POLICY_INVALID',
        `${where}: YAML syntax error: ${d.errors[0]?.message ?? 'unknown'}`,
      );
    }
    const value: unknown = d.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) return; // empty document, e.g. trailing ---
    const kind = (value as { kind?: unknown }).kind;
    if (limits !== undefined && kind === EXCEPTION_KIND)
      out.exceptions.push(validateExceptionDocument(value, where, limits));
    else if (limits !== undefined && kind === TENANT_POLICY_KIND)
      out.tenants.push(validateTenantPolicyDocument(value, where));
    else out.policies.push(validatePolicyDocument(value, where));
  });
  return out;
}

async function filesOf(path: string): Promise<string[]> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    throw new ConfigError('CONFIG_INVALID', `policy path ${path}: ${errorMessage(err)}`);
  }
  if (info.isFile()) return [path];
  if (!info.isDirectory())
    throw new ConfigError('CONFIG_INVALID', `policy path ${path}: not a file or directory`);
  const entries = await readdir(path, { withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && YAML_EXTENSIONS.has(extname(e.name)) && !e.name.startsWith('.'))
    .map((e) => join(path, e.name))
    .sort();
}

/**
 * Reads every policy from the given files/directories; duplicate names are an error, and so is a
 * path that yields no ImagePolicy document (an empty file or directory).
 */
export async function loadPolicyFiles(paths: readonly string[]): Promise<ImagePolicyDocument[]> {
  return (await loadPolicySources(paths, { now: Date.now(), maxDurationMs: DEFAULT_MAX_EXCEPTION_MS }))
    .policies;
}

/** As loadPolicyFiles, with the ImagePolicyExceptions the files hold (`namespace/name` unique). */
export async function loadPolicySources(
  paths: readonly string[],
  limits: ExceptionLimits,
): Promise<PolicySources> {
  const docs: ImagePolicyDocument[] = [];
  const exceptions: ImagePolicyExceptionDocument[] = [];
  const tenants: NamespacedImagePolicyDocument[] = [];
  const seen = new Map<string, string>();
  const seenExceptions = new Map<string, string>();
  for (const path of paths) {
    const before = docs.length + exceptions.length + tenants.length;
    for (const file of await filesOf(path)) {
      const info = await stat(file);
      if (info.size > MAX_POLICY_FILE_BYTES) {
        throw new ConfigError('CONFIG_INVALID', `${file}: larger than ${MAX_POLICY_FILE_BYTES} bytes`);
      }
      const parsed = parsePolicyDocuments(await readFile(file, 'utf8'), file, limits);
      for (const doc of parsed.exceptions) {
        const id = `${doc.metadata.namespace}/${doc.metadata.name}`;
        const previous = seenExceptions.get(id);
        if (previous !== undefined)
          throw new ConfigError(
            'POLICY_INVALID',
            `${file}: ${EXCEPTION_KIND} "${id}" is already defined in ${previous}`,
          );
        seenExceptions.set(id, file);
        exceptions.push(doc);
      }
      for (const doc of parsed.tenants) {
        const id = `${TENANT_POLICY_KIND} ${doc.metadata.namespace}/${doc.metadata.name}`;
        const previous = seenExceptions.get(id);
        if (previous !== undefined)
          throw new ConfigError('POLICY_INVALID', `${file}: ${id} is already defined in ${previous}`);
        seenExceptions.set(id, file);
        tenants.push(doc);
      }
      for (const doc of parsed.policies) {
        const previous = seen.get(doc.metadata.name);
        if (previous !== undefined) {
          throw new ConfigError(
            'POLICY_INVALID',
            `${file}: ImagePolicy "${doc.metadata.name}" is already defined in ${previous}`,
          );
        }
        seen.set(doc.metadata.name, file);
        docs.push(doc);
      }
    }
    if (docs.length + exceptions.length + tenants.length === before) {
      // An empty file or directory would otherwise leave every image ungoverned, silently.
      throw new ConfigError(
        'CONFIG_INVALID',
        `policy path ${path}: holds no ImagePolicy document (looked for ${[...YAML_EXTENSIONS].join(', ')} files)`,
      );
    }
  }
  return { policies: docs, exceptions, tenants };
}
