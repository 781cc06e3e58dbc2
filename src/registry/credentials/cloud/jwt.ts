/** The two JWT operations token sources need: sign an RS256 assertion, read a token's `exp` unverified. */
import { createPrivateKey, sign } from 'node:crypto';

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

/** `header.claims.signature` signed with an RSA private key (PEM, PKCS#8 or PKCS#1). */
export function signRs256(privateKeyPem: string, claims: object, kid?: string): string {
  const key = createPrivateKey(privateKeyPem);
  const header = { alg: 'RS256', typ: 'JWT', ...(kid !== undefined ? { kid } : {}) };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${b64url(sign('sha256', Buffer.from(input), key))}`;
}

/**
 * The `exp` claim (epoch milliseconds) of a JWT, read without verifying it: only to know when to fetch
 * again, never to trust it. Undefined when the token is not a JWT or has no numeric `exp`.
 */
export function jwtExpiryMs(token: string): number | undefined {
  const part = token.split('.')[1];
  if (part === undefined || part.length > 16_384) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof claims.exp === 'number' && Number.isFinite(claims.exp) ? claims.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
