/**
 * The registry `serve --warm-up`'s pods are pulled from: HTTP on loopback, port 0, answering GET and
 * HEAD from memory, and the signed images it holds. The warm-up's engine allows only this host;
 * nothing else is contacted.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  BUNDLE_V03,
  bundleReferrerDocuments,
  cosignSignStatement,
  digestOf,
  imageDocuments,
  legacySignatureDocuments,
  OCI_MANIFEST,
  simpleSigningPayload,
} from './signed-image-builder.js';

export interface Content {
  type: string;
  body: Buffer;
}

/** A registry on loopback answering GET and HEAD for `content`, 404 (OCI error JSON) for anything else. */
export async function serveContent(
  content: Map<string, Content>,
): Promise<{ host: string; requests: () => number; close: () => Promise<void> }> {
  let requests = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    requests++;
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const found = req.method === 'GET' || req.method === 'HEAD' ? content.get(path) : undefined;
    if (found === undefined) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"not part of the warm-up"}]}');
      return;
    }
    res.writeHead(200, {
      'content-type': found.type,
      'content-length': String(found.body.byteLength),
      'docker-content-digest': digestOf(found.body),
    });
    res.end(req.method === 'HEAD' ? undefined : found.body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface Signer {
  /** A `.sig` layer's signature over a simple-signing payload (and its keyless annotations). */
  sig(payload: Buffer): Promise<{ signature: Buffer; annotations?: Record<string, string> }>;
  /** A Sigstore bundle over an in-toto statement. */
  bundle(statement: Buffer): Promise<object>;
}

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

/**
 * One image signed in the legacy `.sig` form or as a bundle referrer (listed in the referrers tag
 * schema's index, as registries without the referrers API hold it), under `/v2/<repo>/…` paths.
 */
export async function signedImage(
  host: string,
  repo: string,
  signer: Signer,
  form: 'sig' | 'bundle',
  content: Map<string, Content>,
): Promise<string> {
  const image = imageDocuments({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers' } }, [
    Buffer.from(`imagegate warm-up ${repo}`),
  ]);
  const put = (ref: string, type: string, body: Buffer): void =>
    void content.set(`/v2/${repo}/manifests/${ref}`, { type, body });
  put(image.digest, OCI_MANIFEST, image.manifest);
  const blobs = [...image.blobs];
  if (form === 'sig') {
    const payload = simpleSigningPayload(`${host}/${repo}`, image.digest);
    const signed = await signer.sig(payload);
    const sig = legacySignatureDocuments(image.digest, payload, signed.signature, signed.annotations);
    put(sig.tag, OCI_MANIFEST, sig.manifest);
    blobs.push(...sig.blobs);
  } else {
    const bundle = await signer.bundle(cosignSignStatement(`${host}/${repo}`, image.digest));
    const subject = { mediaType: OCI_MANIFEST, digest: image.digest, size: image.manifest.byteLength };
    const referrer = bundleReferrerDocuments(subject, bundle);
    put(referrer.digest, OCI_MANIFEST, referrer.manifest);
    const listed = { mediaType: OCI_MANIFEST, digest: referrer.digest, size: referrer.manifest.byteLength };
    const index = {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{ ...listed, artifactType: BUNDLE_V03 }],
    };
    put(image.digest.replace(':', '-'), OCI_INDEX, Buffer.from(JSON.stringify(index)));
    blobs.push(...referrer.blobs);
  }
  for (const blob of blobs)
    content.set(`/v2/${repo}/blobs/${digestOf(blob)}`, { type: 'application/octet-stream', body: blob });
  return `${host}/${repo}@${image.digest}`;
}
