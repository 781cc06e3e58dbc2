/**
 * Builds tiny real images in tests: ustar layers gzip-compressed, a config with rootfs.diff_ids and
 * history, OCI or Docker media types, multi-arch indexes with attestation entries; and pushes them to
 * a registry with the plain Distribution API (the product never pushes, so this lives in test helpers).
 */
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';

export type Format = 'oci' | 'docker';

const TYPES = {
  oci: {
    manifest: 'application/vnd.oci.image.manifest.v1+json',
    index: 'application/vnd.oci.image.index.v1+json',
    config: 'application/vnd.oci.image.config.v1+json',
    layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  },
  docker: {
    manifest: 'application/vnd.docker.distribution.manifest.v2+json',
    index: 'application/vnd.docker.distribution.manifest.list.v2+json',
    config: 'application/vnd.docker.container.image.v1+json',
    layer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  },
} as const;

export function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export interface Blob {
  mediaType: string;
  digest: string;
  size: number;
  bytes: Uint8Array;
}

function blob(mediaType: string, bytes: Uint8Array): Blob {
  return { mediaType, digest: sha256(bytes), size: bytes.byteLength, bytes };
}

function tarHeader(name: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write('0', 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

/** An uncompressed ustar archive of the given files. */
export function tar(files: Record<string, Uint8Array | string>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, content] of Object.entries(files)) {
    const data = typeof content === 'string' ? Buffer.from(content) : Buffer.from(content);
    parts.push(tarHeader(name, data.byteLength), data, Buffer.alloc((512 - (data.byteLength % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

export interface Step {
  createdBy: string;
  /** A step without files and without random bytes is an empty layer (ENV, CMD…). */
  files?: Record<string, Uint8Array | string>;
  /** Incompressible content of this many bytes (so the compressed size is about the same). */
  randomBytes?: number;
}

export interface BuildOptions {
  format?: Format;
  platform?: string;
  steps: Step[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface BuiltImage {
  format: Format;
  platform: string;
  manifest: Blob;
  config: Blob;
  layers: Blob[];
}

export function buildImage(options: BuildOptions): BuiltImage {
  const format = options.format ?? 'oci';
  const t = TYPES[format];
  const platform = options.platform ?? 'linux/amd64';
  const [os, architecture, variant] = platform.split('/');
  const layers: Blob[] = [];
  const diffIds: string[] = [];
  const history: Array<Record<string, unknown>> = [];
  for (const [i, step] of options.steps.entries()) {
    const empty = step.files === undefined && step.randomBytes === undefined;
    history.push({
      created: '2026-01-01T00:00:00Z',
      created_by: step.createdBy,
      ...(empty ? { empty_layer: true } : {}),
    });
    if (empty) continue;
    const files: Record<string, Uint8Array | string> = { ...(step.files ?? {}) };
    if (step.randomBytes !== undefined) files[`blob-${i}.bin`] = randomBytes(step.randomBytes);
    const raw = tar(files);
    diffIds.push(sha256(raw));
    layers.push(blob(t.layer, gzipSync(raw)));
  }
  const config = blob(
    t.config,
    Buffer.from(
      JSON.stringify({
        architecture,
        os,
        ...(variant !== undefined ? { variant } : {}),
        created: '2026-01-01T00:00:00Z',
        config: { Labels: options.labels ?? null },
        rootfs: { type: 'layers', diff_ids: diffIds },
        history,
      }),
    ),
  );
  const manifest = blob(
    t.manifest,
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: t.manifest,
        config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
        layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
        ...(options.annotations !== undefined ? { annotations: options.annotations } : {}),
      }),
    ),
  );
  return { format, platform, manifest, config, layers };
}

export interface BuiltIndex {
  index: Blob;
  images: BuiltImage[];
}

/** A multi-arch index; `attestation: true` adds a BuildKit-style unknown/unknown attestation entry. */
export function buildIndex(
  images: BuiltImage[],
  options: { format?: Format; annotations?: Record<string, string>; attestation?: boolean } = {},
): BuiltIndex {
  const format = options.format ?? 'oci';
  const all = [...images];
  const manifests: Array<Record<string, unknown>> = images.map((img) => {
    const [os, architecture, variant] = img.platform.split('/');
    return {
      mediaType: img.manifest.mediaType,
      digest: img.manifest.digest,
      size: img.manifest.size,
      platform: { os, architecture, ...(variant !== undefined ? { variant } : {}) },
    };
  });
  if (options.attestation === true && images[0] !== undefined) {
    const att = buildImage({
      format: 'oci',
      platform: 'unknown/unknown',
      steps: [{ createdBy: 'attestation', files: { 'x.json': '{}' } }],
    });
    all.push(att);
    manifests.push({
      mediaType: att.manifest.mediaType,
      digest: att.manifest.digest,
      size: att.manifest.size,
      platform: { os: 'unknown', architecture: 'unknown' },
      annotations: {
        'vnd.docker.reference.type': 'attestation-manifest',
        'vnd.docker.reference.digest': images[0].manifest.digest,
      },
    });
  }
  const mediaType = TYPES[format].index;
  const index = blob(
    mediaType,
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType,
        manifests,
        ...(options.annotations !== undefined ? { annotations: options.annotations } : {}),
      }),
    ),
  );
  return { index, images: all };
}

export interface PushOptions {
  /** Authorization header value for every request (Basic … or Bearer …). */
  authorization?: string;
}

async function check(res: Response, what: string, ok: number[]): Promise<void> {
  if (!ok.includes(res.status)) throw new Error(`${what}: HTTP ${res.status} ${await res.text()}`);
}

export async function pushBlob(
  baseUrl: string,
  repo: string,
  b: Blob,
  opts: PushOptions = {},
): Promise<void> {
  const auth: Record<string, string> = opts.authorization ? { authorization: opts.authorization } : {};
  const head = await fetch(`${baseUrl}/v2/${repo}/blobs/${b.digest}`, { method: 'HEAD', headers: auth });
  if (head.status === 200) return;
  const start = await fetch(`${baseUrl}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: auth });
  await check(start, `start upload ${b.digest}`, [202]);
  await start.arrayBuffer();
  const location = new URL(start.headers.get('location') ?? '', baseUrl);
  location.searchParams.set('digest', b.digest);
  const put = await fetch(location, {
    method: 'PUT',
    headers: { ...auth, 'content-type': 'application/octet-stream' },
    body: b.bytes,
  });
  await check(put, `upload ${b.digest}`, [201]);
  await put.arrayBuffer();
}

export async function pushManifest(
  baseUrl: string,
  repo: string,
  ref: string,
  m: Blob,
  opts: PushOptions = {},
): Promise<void> {
  const res = await fetch(`${baseUrl}/v2/${repo}/manifests/${ref}`, {
    method: 'PUT',
    headers: {
      'content-type': m.mediaType,
      ...(opts.authorization ? { authorization: opts.authorization } : {}),
    },
    body: m.bytes,
  });
  await check(res, `push manifest ${repo}:${ref}`, [201]);
  await res.arrayBuffer();
}

export async function pushImage(
  baseUrl: string,
  repo: string,
  tag: string,
  img: BuiltImage,
  opts: PushOptions = {},
): Promise<void> {
  for (const l of img.layers) await pushBlob(baseUrl, repo, l, opts);
  await pushBlob(baseUrl, repo, img.config, opts);
  await pushManifest(baseUrl, repo, tag, img.manifest, opts);
}

export async function pushIndex(
  baseUrl: string,
  repo: string,
  tag: string,
  idx: BuiltIndex,
  opts: PushOptions = {},
): Promise<void> {
  for (const img of idx.images) await pushImage(baseUrl, repo, img.manifest.digest, img, opts);
  await pushManifest(baseUrl, repo, tag, idx.index, opts);
}

/**
 * Pushes from an OCI layout with the plain API: the manifests reachable from the entry tagged `tag`
 * with their blobs (children first), under `tag`. Without `tag`, index.json itself is the image (as
 * apko writes it). Returns the pushed top-level digest.
 */
export async function pushLayout(
  baseUrl: string,
  repo: string,
  layoutDir: string,
  options: { tag?: string; as: string } & PushOptions,
): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  type Desc = { mediaType: string; digest: string; annotations?: Record<string, string> };
  const dir = join(layoutDir, 'blobs', 'sha256');
  const read = (digest: string): Promise<Buffer> => readFile(join(dir, digest.slice('sha256:'.length)));
  const pushTree = async (d: Desc, ref: string): Promise<void> => {
    const bytes = await read(d.digest);
    const json = JSON.parse(bytes.toString('utf8')) as { manifests?: Desc[]; config?: Desc; layers?: Desc[] };
    for (const child of json.manifests ?? []) await pushTree(child, child.digest);
    for (const b of [...(json.config ? [json.config] : []), ...(json.layers ?? [])]) {
      await pushBlob(baseUrl, repo, blob(b.mediaType, await read(b.digest)), options);
    }
    await pushManifest(baseUrl, repo, ref, blob(d.mediaType, bytes), options);
  };
  const indexBytes = await readFile(join(layoutDir, 'index.json'));
  const index = JSON.parse(indexBytes.toString('utf8')) as { manifests: Desc[] };
  if (options.tag === undefined) {
    for (const m of index.manifests) await pushTree(m, m.digest);
    const top = blob('application/vnd.oci.image.index.v1+json', indexBytes);
    await pushManifest(baseUrl, repo, options.as, top, options);
    return top.digest;
  }
  const entry = index.manifests.find(
    (m) => m.annotations?.['org.opencontainers.image.ref.name'] === options.tag,
  );
  if (entry === undefined) throw new Error(`${layoutDir} has no tag ${options.tag}`);
  await pushTree(entry, options.as);
  return entry.digest;
}
