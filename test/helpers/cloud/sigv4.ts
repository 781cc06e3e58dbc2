/**
 * Checks an AWS Signature Version 4 request the way AWS does (canonical request, string to sign,
 * derived key): the loopback stand-ins accept only requests signed with credentials they issued.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export interface SignedBy {
  accessKeyId: string;
  region: string;
  service: string;
}

const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data).digest();
const hex = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');
const encode = (s: string): string =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function header(headers: IncomingHttpHeaders, name: string): string {
  const v = headers[name];
  return (Array.isArray(v) ? v.join(',') : (v ?? '')).trim().replace(/\s+/g, ' ');
}

/** The signer, or a reason the signature is refused; `secretOf` answers the secret of an issued key. */
export function verifySigV4(
  req: { method: string; url: string; headers: IncomingHttpHeaders; body: Buffer },
  secretOf: (accessKeyId: string) => { secret: string; sessionToken?: string } | undefined,
): SignedBy | { refused: string } {
  const auth = header(req.headers, 'authorization');
  const m =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(
      auth,
    );
  if (m === null) return { refused: 'MissingAuthenticationToken' };
  const [, accessKeyId, date, region, service, signedHeaders, signature] = m as unknown as string[];
  const issued = secretOf(accessKeyId!);
  if (issued === undefined) return { refused: 'UnrecognizedClientException' };
  if (
    issued.sessionToken !== undefined &&
    header(req.headers, 'x-amz-security-token') !== issued.sessionToken
  )
    return { refused: 'InvalidSignatureException: session token' };
  const amzDate = header(req.headers, 'x-amz-date');
  if (!amzDate.startsWith(date!)) return { refused: 'InvalidSignatureException: date' };
  const url = new URL(req.url, 'http://stand-in');
  const query = [...url.searchParams.entries()]
    .map(([k, v]) => `${encode(k)}=${encode(v)}`)
    .sort()
    .join('&');
  const names = signedHeaders!.split(';');
  const canonicalHeaders = names.map((n) => `${n}:${header(req.headers, n)}\n`).join('');
  const payload = header(req.headers, 'x-amz-content-sha256') || hex(req.body);
  const canonical = [req.method, url.pathname, query, canonicalHeaders, signedHeaders, payload].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, hex(canonical)].join('\n');
  let key = hmac(`AWS4${issued.secret}`, date!);
  for (const part of [region!, service!, 'aws4_request']) key = hmac(key, part);
  const expected = createHmac('sha256', key).update(toSign).digest();
  if (!timingSafeEqual(expected, Buffer.from(signature!, 'hex')))
    return { refused: 'InvalidSignatureException: signature does not match' };
  return { accessKeyId: accessKeyId!, region: region!, service: service! };
}
