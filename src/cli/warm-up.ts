/**
 * `serve`'s warm-up before /readyz says ready. A fresh process's first cold review costs ~60 ms of
 * CPU more than the next ones (code running for the first time across the registry client, the
 * checks, verification and the audit line; docs/benchmarks.md, issue 26 round 7), and a new replica
 * would spend it on the first pods the API server sends. So before readiness the same path runs on
 * synthetic images: key-signed (cosign legacy `.sig`, an ephemeral ECDSA P-256 key) images served
 * by an in-process registry on loopback, reviewed by a throwaway engine (its own policy, caches and
 * connections) through runReview, as /validate reviews a pod. It contacts no registry the operator
 * configured and shares nothing with the serving engine. It never fails the start: a problem (or
 * the time bound) is reported, and readiness proceeds without it.
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { toAuditLine } from '../audit/writer.js';
import { errorMessage } from '../errors.js';
import { DeadlineWatch } from '../review/deadline.js';
import { runReview } from '../review/run.js';
import { validateRequest } from '../review/validate.js';
import { setupEngine } from './setup.js';
import { digestOf, imageDocuments, keySignatureDocuments, OCI_MANIFEST } from './signed-image-builder.js';

export interface WarmUpOptions {
  /** Pods reviewed, one after the other (default 3). */
  pods?: number;
  /** Distinct images per pod (default 4): each pod's are new, so each is a cold review. */
  imagesPerPod?: number;
  /** The warm-up gives up after this long (default 10 s); readiness then proceeds without it. */
  timeoutMs?: number;
}

export interface WarmUpResult {
  /** Whether every warm-up pod was reviewed and allowed. */
  ok: boolean;
  pods: number;
  /** Requests the synthetic registry answered: 4 per image, + the first one's referrers API probe. */
  requests: number;
  ms: number;
  /** What went wrong, when not ok. */
  problem?: string;
}

interface Content {
  type: string;
  body: Buffer;
}

/** One image and its `.sig` (signed-image-builder.ts), under `/v2/<repo>/…` paths. */
function signedImage(host: string, repo: string, key: KeyObject, content: Map<string, Content>): string {
  const image = imageDocuments({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers' } }, [
    Buffer.from(`imagegate warm-up ${repo}`),
  ]);
  const sig = keySignatureDocuments(`${host}/${repo}`, image.digest, (p) => sign('sha256', p, key));
  content.set(`/v2/${repo}/manifests/${image.digest}`, { type: OCI_MANIFEST, body: image.manifest });
  content.set(`/v2/${repo}/manifests/${sig.tag}`, { type: OCI_MANIFEST, body: sig.manifest });
  for (const blob of [...image.blobs, ...sig.blobs])
    content.set(`/v2/${repo}/blobs/${digestOf(blob)}`, { type: 'application/octet-stream', body: blob });
  return `${host}/${repo}@${image.digest}`;
}

/** A registry on loopback answering GET and HEAD for `content`, 404 (OCI error JSON) for anything else. */
async function serveContent(
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

function policyYaml(publicPem: string): string {
  const pem = publicPem
    .trim()
    .split('\n')
    .map((l) => `            ${l}`)
    .join('\n');
  return [
    'apiVersion: imagegate.dev/v1alpha1',
    'kind: ImagePolicy',
    'metadata:',
    '  name: warm-up',
    'spec:',
    '  mode: enforce',
    '  onError: deny',
    '  images:',
    "    - glob: '**'",
    '  signature:',
    '    authorities:',
    '      - name: warm-up',
    '        key:',
    '          pem: |',
    pem,
    '',
  ].join('\n');
}

function podReview(images: readonly string[], n: number): unknown {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `imagegate-warm-up-${n}`,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'imagegate-warm-up',
      operation: 'CREATE',
      userInfo: { username: 'imagegate:warm-up' },
      object: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'warm-up', namespace: 'imagegate-warm-up' },
        spec: { containers: images.map((image, i) => ({ name: `c${i}`, image })) },
      },
    },
  };
}

/** Runs the warm-up; resolves (never rejects) with what it did. */
export async function warmUp(options: WarmUpOptions = {}): Promise<WarmUpResult> {
  const started = performance.now();
  const pods = options.pods ?? 3;
  const perPod = options.imagesPerPod ?? 4;
  const content = new Map<string, Content>();
  let registry: Awaited<ReturnType<typeof serveContent>> | undefined;
  let dir: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let done = 0;
  const result = (problem?: string): WarmUpResult => ({
    ok: problem === undefined,
    pods: done,
    requests: registry?.requests() ?? 0,
    ms: performance.now() - started,
    ...(problem !== undefined ? { problem } : {}),
  });
  const run = async (): Promise<WarmUpResult> => {
    registry = await serveContent(content);
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const images = Array.from({ length: pods }, (_, p) =>
      Array.from({ length: perPod }, (_, i) =>
        signedImage(registry!.host, `warm-up/p${p}/i${i}`, privateKey, content),
      ),
    );
    dir = await mkdtemp(join(tmpdir(), 'imagegate-warm-up-'));
    const policy = join(dir, 'policy.yaml');
    await writeFile(policy, policyYaml(publicKey.export({ type: 'spki', format: 'pem' }).toString()));
    const setup = await setupEngine(
      {
        policy: [policy],
        insecureRegistry: [registry.host],
        allowRegistry: [registry.host],
        trustedRoot: [],
        logLevel: 'info',
      },
      pino({ level: 'silent' }),
    );
    const deadlines = new DeadlineWatch();
    try {
      for (const [n, pod] of images.entries()) {
        const r = await runReview(podReview(pod, n), {
          engine: setup.engine,
          handler: validateRequest,
          mayDeny: true,
          // the audit line is made (its code warms too) and dropped: no warm-up record reaches the log
          audit: { write: (record) => void toAuditLine(record) },
          deadlines,
        });
        if (r.response.response.allowed !== true)
          return result(
            `warm-up pod ${n} was not allowed: ${r.response.response.status?.message ?? 'no message'}`,
          );
        done++;
      }
      return result();
    } finally {
      await setup.registry.close();
    }
  };
  const bound = new Promise<WarmUpResult>((resolve) => {
    timer = setTimeout(
      () => resolve(result(`not done within ${options.timeoutMs ?? 10_000} ms`)),
      options.timeoutMs ?? 10_000,
    );
    timer.unref();
  });
  try {
    return await Promise.race([run().catch((err: unknown) => result(errorMessage(err))), bound]);
  } finally {
    clearTimeout(timer);
    await registry?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }
}
