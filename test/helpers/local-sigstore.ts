/**
 * A Sigstore instance on loopback for the real cosign (test/integration/cosign-oracle.test.ts): a
 * Fulcio (legacy `/api/v1/signingCert`, which cosign 2 calls, and `/api/v2/signingCert`, which
 * sigstore-go calls), a Rekor v1 (`/api/v1/log/entries`), a Rekor v2 (`/api/v2/log/entries`) and an
 * RFC 3161 TSA (`/api/v1/timestamp`, DER `application/timestamp-query` as cosign sends it). The CA,
 * CT log, logs and TSA are `@sigstore/mock`'s (the sigstore-js team's); this file puts them behind
 * plain HTTP on 127.0.0.1 and writes the trusted root and signing configs that name them
 * (local-sigstore-trust.ts). Identity tokens are minted here: Fulcio trusts the token's claims (the
 * mock does not verify the token), so the issuer and subject are whatever a test asks for.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  fulcioHandler,
  initializeCA,
  initializeCTLog,
  initializeTLog,
  initializeTSA,
  rekorHandler,
  tsaHandler,
  type HandlerFn,
} from '@sigstore/mock';
import { readTimestampRequest } from './der-timestamp-request.js';
import { rekorV1Canonical } from './local-rekor-v1.js';
import { LocalRekorV2 } from './local-rekor-v2.js';
import { writeTrust, type LocalTrust } from './local-sigstore-trust.js';

export interface LocalSigstore extends LocalTrust {
  url: string;
  /** An unsigned-by-anyone OIDC token with these claims (`sub` becomes the certificate's URI SAN). */
  token(claims: { iss: string; sub: string }): string;
  /** Requests served, by path (a test can show the log or TSA was really used). */
  served: Map<string, number>;
  close(): Promise<void>;
}

const MAX_BODY = 1 << 20;
const ecKey = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });

/** The mock TSA's TSTInfo with the request's nonce as sent (cosign's 160-bit nonce is no JS number). */
interface TstInfoLike {
  nonce?: unknown;
  serialNumber: { constructor: new (o: { valueHex: ArrayBuffer }) => unknown };
}
// The mock TSA class builds its TSTInfo in this (undeclared) method; it is wrapped below.
type WithTstInfo = { tstInfo(req: { nonce: number }): TstInfoLike; getCurrentTime(): Date };

export async function startLocalSigstore(dir: string): Promise<LocalSigstore> {
  const served = new Map<string, number>();
  const routes = new Map<string, { fn: HandlerFn }>();
  const server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const keys = { ca: ecKey(), ct: ecKey(), rekor: ecKey(), rekor2: ecKey(), tsa: ecKey() };
  const ctLog = await initializeCTLog(keys.ct);
  const ca = await initializeCA(keys.ca, ctLog);
  const tlog = await initializeTLog(url, keys.rekor);
  const tsa = await initializeTSA(keys.tsa);
  const nonces = new WeakMap<object, Buffer>();
  {
    const t = tsa as unknown as WithTstInfo;
    const original = t.tstInfo.bind(t);
    // Whole seconds: DER drops a fraction's trailing zeros ("…05.12Z"), which @sigstore/core's time
    // parser refuses (it wants three digits), so 1 timestamp in 10 would be unreadable to imagegate
    // though valid (cosign reads it). docs/signatures.md lists that limitation.
    t.getCurrentTime = () => new Date(Math.floor(Date.now() / 1000) * 1000);
    t.tstInfo = (req) => {
      const info = original({ ...req, nonce: 0 });
      const nonce = nonces.get(req);
      if (nonce !== undefined)
        info.nonce = new info.serialNumber.constructor({ valueHex: toArrayBuffer(nonce) });
      return info;
    };
  }
  const fulcio = fulcioHandler(ca);
  routes.set(fulcio.path, { fn: fulcio.fn });
  routes.set('/api/v1/signingCert', { fn: legacySigningCert(fulcio.fn) });
  const rekor = rekorHandler(tlog);
  routes.set(rekor.path, {
    fn: (body) => rekor.fn(JSON.stringify(rekorV1Canonical(JSON.parse(body) as Record<string, unknown>))),
  });
  const rekor2 = new LocalRekorV2('127.0.0.1', keys.rekor2);
  routes.set('/api/v2/log/entries', { fn: (body) => Promise.resolve(rekor2.add(body)) });
  const tsaJson = tsaHandler(tsa);
  routes.set(tsaJson.path, { fn: tsaJson.fn });

  const trust = await writeTrust(dir, url, {
    ca: ca.rootCertificate,
    ct: { publicKey: keys.ct.publicKey, logID: ctLog.logID },
    rekor: keys.rekor.publicKey,
    rekor2: keys.rekor2.publicKey,
    tsa: [tsa.intCertificate, tsa.rootCertificate],
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', url).pathname;
    served.set(path, (served.get(path) ?? 0) + 1);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req as AsyncIterable<Buffer>) {
      size += c.byteLength;
      if (size > MAX_BODY) return reply(res, 413, 'too large');
      chunks.push(c);
    }
    const body = Buffer.concat(chunks);
    const route = routes.get(path);
    if (req.method !== 'POST' || route === undefined) return reply(res, 404, `no ${req.method} ${path}`);
    try {
      if (path === tsaJson.path && req.headers['content-type'] === 'application/timestamp-query') {
        return void (await derTimestamp(body, res));
      }
      let text = body.toString('utf8');
      // Both Fulcio APIs as cosign and sigstore-go call them send the token as a bearer.
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (path === '/api/v1/signingCert') text = JSON.stringify({ ...(JSON.parse(text) as object), token });
      if (path === fulcio.path && token !== undefined)
        text = JSON.stringify({ ...(JSON.parse(text) as object), credentials: { oidcIdentityToken: token } });
      const out = await route.fn(text);
      const headers: Record<string, string> = { 'content-type': out.contentType ?? 'text/plain' };
      // Rekor v1 names the new entry's UUID in ETag (sigstore-go reads the entry by it).
      if (path === rekor.path && out.statusCode === 201)
        headers.etag = Object.keys(JSON.parse(String(out.response)) as object)[0] ?? '';
      // Fulcio's v2 API (a gRPC gateway) answers 200, the legacy one 201.
      res.writeHead(path === fulcio.path && out.statusCode === 201 ? 200 : out.statusCode, headers);
      res.end(
        typeof out.response === 'string'
          ? out.response
          : Buffer.from(out.response.buffer, out.response.byteOffset, out.response.byteLength),
      );
    } catch (e) {
      reply(res, 400, e instanceof Error ? e.message : String(e));
    }
  }

  /** cosign's TSA client: DER TimeStampReq in, DER TimeStampResp out, nonce echoed. */
  async function derTimestamp(body: Buffer, res: ServerResponse): Promise<void> {
    const parsed = readTimestampRequest(body);
    const req = {
      artifactHash: parsed.hash,
      hashAlgorithmOID: parsed.hashAlgorithm,
      nonce: 0,
      policyOID: '1.3.6.1.4.1.57264.2',
      certReq: parsed.certReq,
    };
    if (parsed.nonce !== undefined) nonces.set(req, parsed.nonce);
    const tsr = await tsa.timestamp(req);
    res.writeHead(201, { 'content-type': 'application/timestamp-reply' });
    res.end(Buffer.from(tsr.buffer, tsr.byteOffset, tsr.byteLength));
  }

  return {
    ...trust,
    url,
    served,
    token: (claims) => {
      const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const now = Math.floor(Date.now() / 1000);
      const payload = {
        ...claims,
        aud: 'sigstore',
        iat: now,
        exp: now + 3600,
        nonce: randomBytes(8).toString('hex'),
      };
      return `${part({ alg: 'RS256', typ: 'JWT' })}.${part(payload)}.${randomBytes(32).toString('base64url')}`;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function reply(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain' });
  res.end(text);
}

function toArrayBuffer(b: Buffer): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

/**
 * Fulcio's legacy API (cosign 2): `{publicKey: {content: base64 PEM}}` and the token as a bearer;
 * answers the PEM chain (leaf first), the SCT embedded in the leaf. Served by the v2 handler.
 */
function legacySigningCert(v2: HandlerFn): HandlerFn {
  return async (body) => {
    const { publicKey, token } = JSON.parse(body) as { publicKey: { content: string }; token: string };
    const out = await v2(
      JSON.stringify({
        credentials: { oidcIdentityToken: token },
        publicKeyRequest: {
          publicKey: { content: Buffer.from(publicKey.content, 'base64').toString('utf8') },
        },
      }),
    );
    if (out.statusCode !== 201) return out;
    const chain = (
      JSON.parse(String(out.response)) as {
        signedCertificateEmbeddedSct: { chain: { certificates: string[] } };
      }
    ).signedCertificateEmbeddedSct.chain.certificates;
    return { statusCode: 201, response: chain.join(''), contentType: 'application/pem-certificate-chain' };
  };
}
