/** RS256 JWTs for the cloud stand-ins: a cluster's projected service account tokens, Entra's and ACR's tokens. */
import { generateKeyPairSync, randomBytes, sign, verify, type KeyObject } from 'node:crypto';

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

export interface JwtIssuer {
  /** `iss` of every token it signs. */
  issuer: string;
  publicKey: KeyObject;
  privateKeyPem: string;
  /** Signs with `iat`/`exp` from `nowMs` (default the real clock: a test's fake clock may run ahead). */
  sign(claims: Record<string, unknown>, ttlS?: number, nowMs?: number): string;
  /** The claims when the signature is this issuer's, `iss` is its own and the token has not expired; else a reason. */
  verify(token: string, now?: number): Record<string, unknown> | string;
}

export function jwtIssuer(issuer: string): JwtIssuer {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    issuer,
    publicKey,
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    sign(claims, ttlS = 3600, nowMs = Date.now()) {
      const now = Math.floor(nowMs / 1000);
      const body = {
        iss: issuer,
        iat: now,
        nbf: now - 5,
        exp: now + ttlS,
        jti: b64url(randomBytes(9)),
        ...claims,
      };
      const input = `${b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }))}.${b64url(JSON.stringify(body))}`;
      return `${input}.${b64url(sign('sha256', Buffer.from(input), privateKey))}`;
    },
    verify(token, now = Date.now()) {
      return verifyJwt(token, publicKey, issuer, now);
    },
  };
}

/** Verifies an RS256 JWT with `key`; the claims, or why it is refused. */
export function verifyJwt(
  token: string,
  key: KeyObject,
  issuer: string | undefined,
  now = Date.now(),
): Record<string, unknown> | string {
  const [h, c, s] = token.split('.');
  if (h === undefined || c === undefined || s === undefined) return 'not a JWT';
  let header: { alg?: unknown };
  let claims: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(h, 'base64url').toString()) as { alg?: unknown };
    claims = JSON.parse(Buffer.from(c, 'base64url').toString()) as Record<string, unknown>;
  } catch {
    return 'not a JWT';
  }
  if (header.alg !== 'RS256') return `alg ${String(header.alg)} refused`;
  if (!verify('sha256', Buffer.from(`${h}.${c}`), key, Buffer.from(s, 'base64url'))) return 'bad signature';
  if (issuer !== undefined && claims.iss !== issuer) return `issuer ${String(claims.iss)} is not trusted`;
  if (typeof claims.exp !== 'number' || claims.exp * 1000 <= now) return 'expired';
  return claims;
}
