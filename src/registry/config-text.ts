/** Reads a configuration file named on the command line or in the registry config. */
import { readFile } from 'node:fs/promises';
import { ConfigError, errorMessage } from '../errors.js';

/** The file's text; CONFIG_INVALID saying `${prefix} ${file}: <why>` when it cannot be read. */
export async function readConfigText(file: string, prefix: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError('CONFIG_INVALID', `${prefix} ${file}: ${errorMessage(err)}`, { cause: err });
  }
}
