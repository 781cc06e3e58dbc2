/** Docker `config.json` (`{"auths": {...}}`) and legacy `.dockercfg` text → a keyring. */
import { ConfigError, errorMessage } from '../../errors.js';
import { isRecord } from '../../shared/guards.js';
import { readConfigText } from '../config-text.js';
import { Keyring } from './keyring.js';
import type { Credential } from './provider.js';

interface AuthEntry {
  auth?: unknown;
  username?: unknown;
  password?: unknown;
  identitytoken?: unknown;
}

function toCredential(entry: AuthEntry, where: string): Credential | undefined {
  if (typeof entry.identitytoken === 'string' && entry.identitytoken !== '') {
    return { kind: 'identityToken', token: entry.identitytoken };
  }
  if (typeof entry.username === 'string' && typeof entry.password === 'string') {
    return { kind: 'basic', username: entry.username, password: entry.password };
  }
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0)
      throw new ConfigError('CONFIG_INVALID', `${where}: "auth" is not base64 of user:password`);
    return { kind: 'basic', username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  return undefined;
}

/** Credentials from the JSON text of a Docker config.json (`{"auths": {...}}`) or a legacy .dockercfg. */
export function parseDockerConfig(text: string, where: string, name = 'docker-config'): Keyring {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError('CONFIG_INVALID', `${where}: not JSON (${errorMessage(err)})`, { cause: err });
  }
  if (typeof json !== 'object' || json === null)
    throw new ConfigError('CONFIG_INVALID', `${where}: not an object`);
  const obj = json as Record<string, unknown>;
  const auths = 'auths' in obj ? obj.auths : obj; // .dockercfg is the auths map itself
  if (typeof auths !== 'object' || auths === null) {
    throw new ConfigError('CONFIG_INVALID', `${where}: "auths" is not an object`);
  }
  const entries: Array<[string, Credential]> = [];
  for (const [key, value] of Object.entries(auths)) {
    if (!isRecord(value)) continue;
    const cred = toCredential(value, `${where} (${key})`);
    if (cred !== undefined) entries.push([key, cred]);
  }
  return new Keyring(entries, name);
}

export async function loadDockerConfig(file: string): Promise<Keyring> {
  return parseDockerConfig(await readConfigText(file, 'cannot read Docker config'), file);
}
