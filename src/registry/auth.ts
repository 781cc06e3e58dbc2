/** `WWW-Authenticate` challenges and the bearer-token exchange of the distribution token spec. */
export interface Challenge {
  scheme: 'basic' | 'bearer';
  realm?: string;
  service?: string;
  scope?: string;
}

/** Parses `Bearer realm="…",service="…",scope="…"` (quoted or token values, commas inside quotes). */
export function parseChallenge(value: string | undefined): Challenge | undefined {
  if (value === undefined) return undefined;
  const m = /^\s*(\w+)\s*(.*)$/s.exec(value);
  if (m === null) return undefined;
  const scheme = m[1]!.toLowerCase();
  if (scheme !== 'basic' && scheme !== 'bearer') return undefined;
  const params: Record<string, string> = {};
  const re = /([a-zA-Z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (const p of (m[2] ?? '').matchAll(re))
    params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : (p[3] ?? '');
  return {
    scheme,
    ...(params.realm !== undefined ? { realm: params.realm } : {}),
    ...(params.service !== undefined ? { service: params.service } : {}),
    ...(params.scope !== undefined ? { scope: params.scope } : {}),
  };
}

export interface TokenResponse {
  token: string;
  /** Milliseconds the token may be reused. */
  ttlMs: number;
}

/** Reads `{token|access_token, expires_in}`; tokens are reused until shortly before they expire. */
export function parseTokenResponse(text: string): TokenResponse | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof json !== 'object' || json === null) return undefined;
  const o = json as Record<string, unknown>;
  const token = typeof o.token === 'string' && o.token !== '' ? o.token : o.access_token;
  if (typeof token !== 'string' || token === '') return undefined;
  const expiresIn = typeof o.expires_in === 'number' && o.expires_in > 0 ? o.expires_in : 60;
  const ttlMs = Math.max(0, expiresIn * 1000 - Math.min(10_000, expiresIn * 100));
  return { token, ttlMs };
}
