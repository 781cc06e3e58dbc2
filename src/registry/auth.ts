/** `WWW-Authenticate` challenges and the bearer-token exchange of the distribution token spec. */
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { TokenAnswerSchema, type TokenAnswerShape } from './content.schema.js';

export interface Challenge {
  scheme: 'basic' | 'bearer';
  realm?: string;
  service?: string;
  scope?: string;
}

/** Longer challenges are not read: a real one is a few hundred characters. */
const MAX_CHALLENGE_CHARS = 8192;

/**
 * Parses `Bearer realm="…",service="…",scope="…"` (quoted or token values, commas inside quotes) in
 * one linear scan: the header is registry-controlled, and a backtracking regexp over it is quadratic.
 */
export function parseChallenge(value: string | undefined): Challenge | undefined {
  if (value === undefined || value.length > MAX_CHALLENGE_CHARS) return undefined;
  let i = 0;
  const n = value.length;
  const isSpace = (c: string | undefined): boolean => c === ' ' || c === '\t';
  const isName = (c: string | undefined): boolean => c !== undefined && /[A-Za-z0-9_]/.test(c);
  while (isSpace(value[i])) i++;
  let start = i;
  while (isName(value[i])) i++;
  const scheme = value.slice(start, i).toLowerCase();
  if (scheme !== 'basic' && scheme !== 'bearer') return undefined;
  const params: Record<string, string> = {};
  while (i < n) {
    while (i < n && (isSpace(value[i]) || value[i] === ',')) i++;
    start = i;
    while (isName(value[i])) i++;
    const name = value.slice(start, i).toLowerCase();
    while (isSpace(value[i])) i++;
    if (name === '' || value[i] !== '=') {
      // not a parameter: skip to the next comma
      while (i < n && value[i] !== ',') i++;
      continue;
    }
    i++;
    while (isSpace(value[i])) i++;
    let v = '';
    if (value[i] === '"') {
      i++;
      while (i < n && value[i] !== '"') {
        if (value[i] === '\\' && i + 1 < n) i++;
        v += value[i];
        i++;
      }
      i++;
    } else {
      start = i;
      while (i < n && value[i] !== ',' && !isSpace(value[i])) i++;
      v = value.slice(start, i);
    }
    params[name] = v;
  }
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

const tokenChecker = TypeCompiler.Compile(TokenAnswerSchema);

/**
 * Reads `{token|access_token, expires_in}` (schema-checked: a field of the wrong type is no token);
 * tokens are reused until shortly before they expire.
 */
export function parseTokenResponse(text: string): TokenResponse | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!tokenChecker.Check(json)) return undefined;
  const o = json as TokenAnswerShape;
  const token = o.token !== undefined && o.token !== '' ? o.token : o.access_token;
  if (token === undefined || token === '') return undefined;
  const expiresIn = o.expires_in !== undefined && o.expires_in > 0 ? o.expires_in : 60;
  const ttlMs = Math.max(0, expiresIn * 1000 - Math.min(10_000, expiresIn * 100));
  return { token, ttlMs };
}
