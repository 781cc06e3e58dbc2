/**
 * A registry on 127.0.0.1 that an attacker controls: it serves crafted manifests, indexes and blobs
 * (content-addressed, some generated on demand so that 150 × 4 MiB never sits in the test's memory),
 * and any route can be replaced by a handler (Bearer challenges with a chosen realm, redirects, slow
 * drips, stalls). It counts sockets (open, peak, total) and logs every request, so tests can show a
 * cap held and a refused target was never contacted. Plain HTTP: imagegate reaches it with
 * `--insecure-registry`. Never points anything outside loopback at a real connection.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createServer as createNetServer } from 'node:net';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';

export interface Desc {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string; variant?: string };
  annotations?: Record<string, string>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface HostileRegistry {
  /** `127.0.0.1:PORT` */
  host: string;
  url: string;
  /** "METHOD /path" of every request, in order. */
  log: string[];
  /** Sockets open now, the most open at once, and all ever accepted. */
  sockets: { open: number; peak: number; total: number };
  blob(bytes: Uint8Array | string, mediaType?: string): Desc;
  /** Stores a manifest; `contentType` defaults to its mediaType field (or OCI manifest). */
  manifest(repo: string, doc: object | string, options?: { tag?: string; contentType?: string }): Desc;
  /** A manifest generated on every request (digest computed once): large content without holding it. */
  lazyManifest(repo: string, make: () => Buffer, contentType?: string): Desc;
  /** Handles requests whose "METHOD /path" matches before the stored content does. */
  route(match: RegExp, handler: Handler): void;
  resetCounts(): void;
  stop(): Promise<void>;
}

export function sha256(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

interface Stored {
  make: () => Buffer;
  contentType: string;
}

export async function startHostileRegistry(): Promise<HostileRegistry> {
  const blobs = new Map<string, Stored>();
  const manifests = new Map<string, Stored>(); // "repo@digest" and "repo:tag"
  const routes: Array<{ match: RegExp; handler: Handler }> = [];
  const log: string[] = [];
  const sockets = { open: 0, peak: 0, total: 0 };
  const live = new Set<Socket>();

  const serve = (res: ServerResponse, s: Stored, head: boolean, digest: string): void => {
    const body = s.make();
    res.writeHead(200, {
      'content-type': s.contentType,
      'content-length': body.byteLength,
      'docker-content-digest': digest,
    });
    res.end(head ? undefined : body);
  };

  // tokens in Authorization headers may be as large as the attacker likes (Node's default is 16 KiB)
  const server: Server = createServer({ maxHeaderSize: 4 * 1024 * 1024 }, (req, res) => {
    const line = `${req.method ?? 'GET'} ${req.url ?? '/'}`;
    log.push(line);
    for (const r of routes) {
      if (r.match.test(line)) return r.handler(req, res);
    }
    const path = (req.url ?? '/').split('?')[0]!;
    const head = req.method === 'HEAD';
    if (path === '/v2/' || path === '/v2') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      return;
    }
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(path);
    if (m !== null) {
      const [, repo, kind, ref] = m as unknown as [string, string, string, string];
      if (kind === 'blobs') {
        const b = blobs.get(ref);
        if (b !== undefined) return serve(res, b, head, ref);
      } else {
        const key = ref.includes(':') ? `${repo}@${ref}` : `${repo}:${ref}`;
        const s = manifests.get(key);
        if (s !== undefined) {
          const digest = ref.includes(':') ? ref : sha256(s.make());
          return serve(res, s, head, digest);
        }
      }
    }
    res
      .writeHead(404, { 'content-type': 'application/json' })
      .end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"not here"}]}');
  });
  server.keepAliveTimeout = 30_000;
  server.on('connection', (socket: Socket) => {
    sockets.open++;
    sockets.total++;
    sockets.peak = Math.max(sockets.peak, sockets.open);
    live.add(socket);
    // counted until the client's FIN (end) or reset arrives: 'close' can come after the client has
    // already opened the connection that replaces this one
    let counted = true;
    const gone = (): void => {
      if (!counted) return;
      counted = false;
      sockets.open--;
    };
    socket.once('end', gone);
    socket.once('error', gone);
    socket.once('close', () => {
      gone();
      live.delete(socket);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const host = `127.0.0.1:${port}`;

  const putManifest = (repo: string, make: () => Buffer, contentType: string, tag?: string): Desc => {
    const bytes = make();
    const digest = sha256(bytes);
    const stored = { make, contentType };
    manifests.set(`${repo}@${digest}`, stored);
    if (tag !== undefined) manifests.set(`${repo}:${tag}`, stored);
    return { mediaType: contentType, digest, size: bytes.byteLength };
  };

  return {
    host,
    url: `http://${host}`,
    log,
    sockets,
    blob(bytes, mediaType = OCI_LAYER) {
      const b = Buffer.from(bytes);
      const digest = sha256(b);
      blobs.set(digest, { make: () => b, contentType: 'application/octet-stream' });
      return { mediaType, digest, size: b.byteLength };
    },
    manifest(repo, doc, options = {}) {
      const text = typeof doc === 'string' ? doc : JSON.stringify(doc);
      const declared = (JSON.parse(text) as { mediaType?: string }).mediaType;
      const b = Buffer.from(text);
      return putManifest(repo, () => b, options.contentType ?? declared ?? OCI_MANIFEST, options.tag);
    },
    lazyManifest(repo, make, contentType = OCI_MANIFEST) {
      return putManifest(repo, make, contentType);
    },
    route(match, handler) {
      routes.push({ match, handler });
    },
    resetCounts() {
      log.length = 0;
      sockets.peak = sockets.open;
      sockets.total = 0;
    },
    async stop() {
      for (const s of live) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A small image: one layer, a config with the given history, pushed under `repo:tag`. */
export function pushImage(
  reg: HostileRegistry,
  repo: string,
  tag: string,
  options: { createdBy?: string; layerBytes?: number; annotations?: Record<string, string> } = {},
): Desc {
  const layer = reg.blob(Buffer.alloc(options.layerBytes ?? 1024, 7));
  const config = reg.blob(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [sha256(`${repo}:${tag}`)] },
      history: [{ created_by: options.createdBy ?? 'COPY app /app # buildkit' }],
    }),
    OCI_CONFIG,
  );
  return reg.manifest(
    repo,
    {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config,
      layers: [layer],
      ...(options.annotations !== undefined ? { annotations: options.annotations } : {}),
    },
    { tag },
  );
}

/**
 * An index of `count` platform entries under `repo:tag`. Each entry is a distinct manifest of about
 * `entryBytes` bytes (padding in an annotation), generated on demand; `platform(i)` names entry i.
 */
export function pushIndex(
  reg: HostileRegistry,
  repo: string,
  tag: string,
  count: number,
  options: {
    entryBytes?: number;
    platform?: (i: number) => Desc['platform'];
    /** Keep the generated entries in memory (fast to serve; for a few entries reused by several indexes). */
    keep?: boolean;
  } = {},
): Desc {
  const config = reg.blob(JSON.stringify({ architecture: 'amd64', os: 'linux' }), OCI_CONFIG);
  const layer = reg.blob(Buffer.alloc(512, 1));
  const platform = options.platform ?? ((i: number) => ({ os: 'linux', architecture: `arch${i}` }));
  const manifests: Desc[] = [];
  for (let i = 0; i < count; i++) {
    const pad = Math.max(0, (options.entryBytes ?? 0) - 400);
    const make = (): Buffer =>
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config,
          layers: [layer],
          annotations: { entry: String(i), pad: 'p'.repeat(pad) },
        }),
      );
    const d =
      pad > 0 && options.keep !== true ? reg.lazyManifest(repo, make) : reg.manifest(repo, make().toString());
    manifests.push({ ...d, platform: platform(i) });
  }
  return reg.manifest(repo, { schemaVersion: 2, mediaType: OCI_INDEX, manifests }, { tag });
}

/** A TCP server on loopback that only counts connections (a place a refused target must never reach). */
export async function startCountingServer(): Promise<{
  host: string;
  connections: () => number;
  stop: () => Promise<void>;
}> {
  let connections = 0;
  const live = new Set<Socket>();
  const server = createNetServer((socket) => {
    connections++;
    live.add(socket);
    socket.once('close', () => live.delete(socket));
    socket.end('HTTP/1.1 500 Nope\r\ncontent-length: 0\r\n\r\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    connections: () => connections,
    async stop() {
      for (const s of live) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Answers with the headers, then one byte every `everyMs` forever (until the client goes away). */
export function drip(everyMs: number): Handler {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': OCI_MANIFEST, 'content-length': 1_000_000 });
    const timer = setInterval(() => res.write(' '), everyMs);
    res.once('close', () => clearInterval(timer));
  };
}

/** Never answers (the socket stays open until the client gives up). */
export const stall: Handler = () => undefined;
