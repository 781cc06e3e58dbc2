/**
 * The registry `serve --warm-up`'s pods are pulled from: HTTP on loopback, port 0, answering GET and
 * HEAD from memory. The warm-up's engine allows only this host; nothing else is contacted.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { digestOf } from './signed-image-builder.js';

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
