/**
 * A Kubernetes API stand-in on 127.0.0.1 over HTTPS (self-signed certificate from ./tls.ts), with a
 * kubeconfig file pointing at it, so @kubernetes/client-node talks to it as to a real API server.
 * It keeps objects in memory and answers in the API's own format: lists (`PodList`, … with
 * `metadata.continue` for `limit`), get, create (409 AlreadyExists), replace (409 Conflict on a stale
 * resourceVersion), merge patch, delete, `Status` bodies for errors. Kinds not installed answer 404 as
 * the API server does for an absent CRD. Scripted faults: 429 with Retry-After and 5xx per path;
 * scripted answers (`answer`: a slow reply, a watch stream) ahead of the store. The one stand-in for
 * every test that needs an API server, unit or integration.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { K8sObject } from './k8s.js';
import { makeTlsCert } from './tls.js';

export interface ResourceType {
  /** '' for the core group. */
  group: string;
  version: string;
  kind: string;
  namespaced: boolean;
}

/** The built-in kinds the stand-in serves, by API group, all v1; a resource is its kind's plural in lower case. */
const BUILTIN_KINDS: Record<string, string[]> = {
  '': ['Namespace', 'Pod', 'ReplicationController', 'Secret', 'ServiceAccount', 'Event'],
  apps: ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet'],
  batch: ['Job', 'CronJob'],
  'coordination.k8s.io': ['Lease'],
};

export const BUILTIN_RESOURCES: Record<string, ResourceType> = Object.fromEntries(
  Object.entries(BUILTIN_KINDS).flatMap(([group, kinds]) =>
    kinds.map((kind) => [
      `${kind.toLowerCase()}s`,
      { group, version: 'v1', kind, namespaced: kind !== 'Namespace' },
    ]),
  ),
);

export const POLICY_REPORTS: Record<string, ResourceType> = {
  policyreports: { group: 'wgpolicyk8s.io', version: 'v1alpha2', kind: 'PolicyReport', namespaced: true },
};
export const OPEN_REPORTS: Record<string, ResourceType> = {
  reports: { group: 'openreports.io', version: 'v1alpha1', kind: 'Report', namespaced: true },
};

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType?: string;
  body?: K8sObject;
}

export interface Fault {
  /** Answer this status (429, 500, 503…) to the next `times` requests whose path starts with `path`. */
  path: string;
  status: number;
  times: number;
  retryAfter?: number;
  /** Only requests with this method. */
  method?: string;
  /** Only requests whose body has at least this many bytes (an etcd size limit: 413). */
  minBodyBytes?: number;
  /** Never answer (a hung API call); the connection stays open until close(). */
  hang?: boolean;
}

/**
 * A test's own answer to a request, asked after it is recorded and authorised and before the faults
 * and the store: true when it answered (or will answer) `res` itself.
 */
export type ScriptedAnswer = (req: RecordedRequest, res: ServerResponse) => boolean;

interface Parsed {
  plural: string;
  type: ResourceType;
  namespace?: string;
  name?: string;
}

function apiVersionOf(t: ResourceType): string {
  return t.group === '' ? t.version : `${t.group}/${t.version}`;
}

/** One self-signed certificate for every stand-in of a test run (made once: a key pair costs ~0.1 s). */
let certificate: ReturnType<typeof makeTlsCert> | undefined;
const standInCertificate = (): ReturnType<typeof makeTlsCert> => (certificate ??= makeTlsCert());

export class KubeApiStandIn {
  private server?: Server;
  /** Every TCP socket, TLS handshakes and open watches included: close() ends them all. */
  private readonly sockets = new Set<Socket>();
  readonly requests: RecordedRequest[] = [];
  readonly faults: Fault[] = [];
  /** Objects per plural, keyed by "namespace/name". */
  private readonly store = new Map<string, Map<string, K8sObject>>();
  private readonly types: Record<string, ResourceType>;
  private resourceVersion = 1000;
  url = '';
  kubeconfigPath = '';
  answer?: ScriptedAnswer;

  constructor(extraTypes: Record<string, ResourceType> = {}) {
    this.types = { ...BUILTIN_RESOURCES, ...extraTypes };
  }

  /** Installs a CRD's kind at run time (before: 404 as for an absent CRD). */
  install(types: Record<string, ResourceType>): void {
    Object.assign(this.types, types);
  }

  async start(): Promise<void> {
    const { certPem, keyPem } = await standInCertificate();
    this.server = createServer({ cert: certPem, key: keyPem }, (req, res) => void this.handle(req, res));
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.url = `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    const dir = await mkdtemp(join(tmpdir(), 'imagegate-kube-'));
    this.kubeconfigPath = join(dir, 'kubeconfig');
    await writeFile(
      this.kubeconfigPath,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '  - name: stand-in',
        '    cluster:',
        `      server: ${this.url}`,
        `      certificate-authority-data: ${Buffer.from(certPem).toString('base64')}`,
        'users:',
        '  - name: auditor',
        '    user: { token: stand-in-token }',
        'contexts:',
        '  - name: stand-in',
        '    context: { cluster: stand-in, user: auditor }',
        'current-context: stand-in',
        '',
      ].join('\n'),
    );
  }

  /** A client configuration for this stand-in, as `--kubeconfig` would load it. */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromFile(this.kubeconfigPath);
    return kc;
  }

  async close(): Promise<void> {
    const closed = new Promise((resolve) => this.server?.close(resolve));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  /** Adds every item of a list document (`PodList`…) as the API server would store it. */
  load(list: K8sObject): void {
    for (const item of list.items as K8sObject[]) this.put(item);
  }

  put(obj: K8sObject): K8sObject {
    const plural = Object.entries(this.types).find(([, t]) => t.kind === obj.kind)?.[0];
    if (plural === undefined) throw new Error(`stand-in: unknown kind ${String(obj.kind)}`);
    const stored = structuredClone(obj);
    stored.metadata ??= {};
    stored.metadata.uid ??= randomUUID();
    stored.metadata.resourceVersion = String(++this.resourceVersion);
    stored.metadata.creationTimestamp ??= new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    this.bucket(plural).set(`${stored.metadata.namespace ?? ''}/${stored.metadata.name}`, stored);
    return stored;
  }

  /** Stored objects of a plural (e.g. "policyreports"), optionally in one namespace. */
  objects(plural: string, namespace?: string): K8sObject[] {
    return [...this.bucket(plural).values()].filter(
      (o) => namespace === undefined || o.metadata.namespace === namespace,
    );
  }

  remove(plural: string, namespace: string, name: string): void {
    this.bucket(plural).delete(`${namespace}/${name}`);
  }

  private bucket(plural: string): Map<string, K8sObject> {
    let b = this.store.get(plural);
    if (b === undefined) this.store.set(plural, (b = new Map()));
    return b;
  }

  private parse(pathname: string): Parsed | undefined {
    const m = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))\/(.*)$/.exec(pathname);
    if (m === null) return undefined;
    const group = m[2] ?? '';
    const version = m[1] ?? m[3] ?? '';
    const segs = (m[4] ?? '').split('/').filter((s) => s !== '');
    let namespace: string | undefined;
    let rest = segs;
    if (segs[0] === 'namespaces' && segs.length >= 3) {
      namespace = segs[1];
      rest = segs.slice(2);
    }
    const [plural, name] = rest;
    if (plural === undefined) return undefined;
    const type = this.types[plural];
    if (type === undefined || type.group !== group || type.version !== version) return undefined;
    return {
      plural,
      type,
      ...(namespace !== undefined ? { namespace } : {}),
      ...(name !== undefined ? { name } : {}),
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://x');
    let raw = '';
    for await (const chunk of req) raw += String(chunk);
    const body = raw === '' ? undefined : (JSON.parse(raw) as K8sObject);
    const method = req.method ?? 'GET';
    const recorded: RecordedRequest = {
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      ...(req.headers['content-type'] !== undefined ? { contentType: req.headers['content-type'] } : {}),
      ...(body !== undefined ? { body } : {}),
    };
    this.requests.push(recorded);
    if (req.headers.authorization !== 'Bearer stand-in-token')
      return this.status(res, 401, 'Unauthorized', 'Unauthorized');
    if (this.answer?.(recorded, res) === true) return;
    const fault = this.faults.find(
      (f) =>
        f.times > 0 &&
        url.pathname.startsWith(f.path) &&
        (f.method === undefined || f.method === method) &&
        (f.minBodyBytes === undefined || Buffer.byteLength(raw) >= f.minBodyBytes),
    );
    if (fault !== undefined) {
      fault.times -= 1;
      if (fault.hang === true) return;
      if (fault.retryAfter !== undefined) res.setHeader('retry-after', String(fault.retryAfter));
      return this.status(
        res,
        fault.status,
        fault.status === 429
          ? 'TooManyRequests'
          : fault.status === 413
            ? 'RequestEntityTooLarge'
            : 'InternalError',
        'scripted fault',
      );
    }
    const p = this.parse(url.pathname);
    if (p === undefined)
      return this.status(res, 404, 'NotFound', 'the server could not find the requested resource');
    const key = `${p.namespace ?? ''}/${p.name ?? ''}`;
    const bucket = this.bucket(p.plural);
    const what = `${p.plural}${p.type.group === '' ? '' : `.${p.type.group}`} "${p.name ?? ''}"`;
    if (method === 'GET' && p.name === undefined) return this.list(res, p, url.searchParams);
    if (method === 'GET') {
      const obj = bucket.get(key);
      return obj === undefined
        ? this.status(res, 404, 'NotFound', `${what} not found`)
        : this.json(res, 200, obj);
    }
    if (method === 'POST') {
      const k = `${p.namespace ?? ''}/${String(body?.metadata?.name)}`;
      if (bucket.has(k))
        return this.status(
          res,
          409,
          'AlreadyExists',
          `${p.plural} "${String(body?.metadata?.name)}" already exists`,
        );
      return this.json(
        res,
        201,
        this.put({ ...body, metadata: { ...body?.metadata, namespace: p.namespace } }),
      );
    }
    const existing = bucket.get(key);
    if (existing === undefined) return this.status(res, 404, 'NotFound', `${what} not found`);
    if (method === 'PUT') {
      const rv = body?.metadata?.resourceVersion as string | undefined;
      if (rv !== undefined && rv !== existing.metadata.resourceVersion)
        return this.status(
          res,
          409,
          'Conflict',
          `Operation cannot be fulfilled on ${what}: the object has been modified`,
        );
      return this.json(
        res,
        200,
        this.put({ ...body, metadata: { ...body?.metadata, uid: existing.metadata.uid } }),
      );
    }
    if (method === 'PATCH')
      return this.json(res, 200, this.put(mergePatch(existing, body ?? {}) as K8sObject));
    if (method === 'DELETE') {
      bucket.delete(key);
      return this.json(res, 200, {
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Success',
        details: { name: p.name },
      });
    }
    return this.status(res, 405, 'MethodNotAllowed', `${method} not allowed`);
  }

  private list(res: ServerResponse, p: Parsed, q: URLSearchParams): void {
    const selector = (q.get('labelSelector') ?? '')
      .split(',')
      .filter((s) => s !== '')
      .map((s) => s.split('=') as [string, string]);
    const all = [...this.bucket(p.plural).values()]
      .filter((o) => p.namespace === undefined || o.metadata.namespace === p.namespace)
      .filter((o) => selector.every(([k, v]) => o.metadata.labels?.[k] === v))
      .sort((a, b) =>
        `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(
          `${b.metadata.namespace}/${b.metadata.name}`,
        ),
      );
    const offset =
      q.get('continue') !== null ? Number(Buffer.from(q.get('continue')!, 'base64url').toString()) : 0;
    const limit = q.get('limit') !== null ? Number(q.get('limit')) : all.length;
    const items = all.slice(offset, offset + limit);
    const next =
      offset + limit < all.length ? Buffer.from(String(offset + limit)).toString('base64url') : undefined;
    this.json(res, 200, {
      kind: `${p.type.kind}List`,
      apiVersion: apiVersionOf(p.type),
      metadata: {
        resourceVersion: String(this.resourceVersion),
        ...(next !== undefined ? { continue: next, remainingItemCount: all.length - offset - limit } : {}),
      },
      items,
    });
  }

  private json(res: ServerResponse, code: number, body: unknown): void {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private status(res: ServerResponse, code: number, reason: string, message: string): void {
    this.json(res, code, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message,
      reason,
      code,
    });
  }
}

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as object) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** A Secret holding a cosign public key under `cosign.pub`, as `key.secretRef` and `k8s://` read it. */
export function cosignKeySecret(namespace: string, name: string, publicPem: string): K8sObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { namespace, name },
    data: { 'cosign.pub': Buffer.from(publicPem).toString('base64') },
  };
}
