/**
 * Registry credentials in Docker `config.json` form: a file given to imagegate, and the pod's pull
 * secrets (`kubernetes.io/dockerconfigjson`, legacy `kubernetes.io/dockercfg`). Lookup follows the
 * kubelet: the longest matching `host[/path]` key wins.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ConfigError, errorMessage } from '../errors.js';
import { canonicalHost } from './host.js';

export type Credential =
  | { kind: 'basic'; username: string; password: string }
  /** An OAuth2 refresh token (Docker's `identitytoken`). */
  | { kind: 'identityToken'; token: string };

export interface CredentialStore {
  /** Credential for `registry/repository`, or undefined for anonymous access. */
  lookup(registry: string, repository: string): Credential | undefined;
}

/** A stable, non-reversible key for caching tokens per credential. */
export function credentialKey(c: Credential | undefined): string {
  if (c === undefined) return 'anonymous';
  const material = c.kind === 'basic' ? `b:${c.username}:${c.password}` : `t:${c.token}`;
  return createHash('sha256').update(material).digest('hex').slice(0, 16);
}

/** `https://index.docker.io/v1/` → `docker.io`; `ghcr.io/team` → `ghcr.io/team`. */
export function normaliseCredentialKey(key: string): string {
  let k = key.trim().replace(/^[a-z]+:\/\//i, '');
  k = k.replace(/\/+$/, '').replace(/\/v[12]$/, '');
  const slash = k.indexOf('/');
  const host = (slash < 0 ? k : k.slice(0, slash)).toLowerCase();
  const path = slash < 0 ? '' : k.slice(slash);
  // The same canonical host as references (host.ts), so `host:443` credentials serve `host/app`.
  const h = canonicalHost(host) ?? host;
  return `${h}${path}`;
}

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

export class StaticCredentialStore implements CredentialStore {
  readonly #entries: Array<[string, Credential]>;

  constructor(entries: Iterable<[string, Credential]>) {
    this.#entries = [...entries]
      .map(([k, c]): [string, Credential] => [normaliseCredentialKey(k), c])
      .sort((a, b) => b[0].length - a[0].length);
  }

  lookup(registry: string, repository: string): Credential | undefined {
    const full = `${registry}/${repository}`;
    for (const [key, cred] of this.#entries) {
      if (key === registry || full === key || full.startsWith(`${key}/`)) return cred;
    }
    return undefined;
  }

  get size(): number {
    return this.#entries.length;
  }

  entries(): Array<[string, Credential]> {
    return [...this.#entries];
  }
}

/** Credentials from the JSON text of a Docker config.json (`{"auths": {...}}`) or a legacy .dockercfg. */
export function parseDockerConfig(text: string, where: string): StaticCredentialStore {
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
    if (typeof value !== 'object' || value === null) continue;
    const cred = toCredential(value as AuthEntry, `${where} (${key})`);
    if (cred !== undefined) entries.push([key, cred]);
  }
  return new StaticCredentialStore(entries);
}

export async function loadDockerConfig(file: string): Promise<StaticCredentialStore> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError('CONFIG_INVALID', `cannot read Docker config ${file}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  return parseDockerConfig(text, file);
}

/** The shape of a Kubernetes Secret that matters here (V1Secret from @kubernetes/client-node fits). */
export interface PullSecretLike {
  type?: string;
  metadata?: { name?: string; namespace?: string };
  data?: Record<string, string>;
}

/** Credentials from pull secrets, in order (earlier secrets win on equal keys, as the kubelet tries them first). */
export function credentialsFromPullSecrets(secrets: readonly PullSecretLike[]): StaticCredentialStore {
  const entries: Array<[string, Credential]> = [];
  for (const s of secrets) {
    const name = `secret ${s.metadata?.namespace ?? ''}/${s.metadata?.name ?? '?'}`;
    const data =
      s.type === 'kubernetes.io/dockerconfigjson'
        ? s.data?.['.dockerconfigjson']
        : s.type === 'kubernetes.io/dockercfg'
          ? s.data?.['.dockercfg']
          : undefined;
    if (data === undefined) continue;
    const store = parseDockerConfig(Buffer.from(data, 'base64').toString('utf8'), name);
    entries.push(...store.entries());
  }
  // stable sort by length keeps the secret order among equal keys
  return new StaticCredentialStore(entries);
}

/** First store that has a credential wins: per-request pull secrets before the static config. */
export function chainCredentials(...stores: Array<CredentialStore | undefined>): CredentialStore {
  return {
    lookup(registry, repository) {
      for (const s of stores) {
        const c = s?.lookup(registry, repository);
        if (c !== undefined) return c;
      }
      return undefined;
    },
  };
}
