/**
 * Loads ImagePolicy documents from YAML files or directories of them (start-up I/O).
 * Multi-document YAML is supported; documents of other kinds in the same file are an error so a
 * typo never silently drops a policy.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ConfigError, errorMessage } from '../errors.js';
import type { ImagePolicyDocument } from './policy.schema.js';
import { validatePolicyDocument } from './validate.js';

const MAX_POLICY_FILE_BYTES = 4 * 1024 * 1024;
const YAML_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

export function parsePolicyYaml(text: string, source: string): ImagePolicyDocument[] {
  const docs = parseAllDocuments(text);
  const out: ImagePolicyDocument[] = [];
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
    out.push(validatePolicyDocument(value, where));
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
  const docs: ImagePolicyDocument[] = [];
  const seen = new Map<string, string>();
  for (const path of paths) {
    const before = docs.length;
    for (const file of await filesOf(path)) {
      const info = await stat(file);
      if (info.size > MAX_POLICY_FILE_BYTES) {
        throw new ConfigError('CONFIG_INVALID', `${file}: larger than ${MAX_POLICY_FILE_BYTES} bytes`);
      }
      for (const doc of parsePolicyYaml(await readFile(file, 'utf8'), file)) {
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
    if (docs.length === before) {
      // An empty file or directory would otherwise leave every image ungoverned, silently.
      throw new ConfigError(
        'CONFIG_INVALID',
        `policy path ${path}: holds no ImagePolicy document (looked for ${[...YAML_EXTENSIONS].join(', ')} files)`,
      );
    }
  }
  return docs;
}
