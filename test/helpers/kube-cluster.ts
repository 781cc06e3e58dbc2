/**
 * The cluster suites' access to the local control plane started by global-setup-cluster.ts:
 * kubectl and helm (from .tools/bin) with its admin kubeconfig, the API server's audit log, and
 * polling. `kubectl` answers with stdout, stderr (where kubectl prints the API server's warnings
 * and errors) and the exit status, so tests assert on what a user sees.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { inject } from 'vitest';
import { ROOT } from './cli.js';
import type { K8sObject } from './k8s.js';

export const cluster = inject('cluster');
/** For describe.skipIf: no control plane here (no Go; global-setup-cluster.ts printed why). */
export const NO_CLUSTER = cluster === null;

export const KUBECTL = join(ROOT, '.tools', 'bin', 'kubectl');
export const HELM_BIN = join(ROOT, '.tools', 'bin', 'helm');

export interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

function need(): NonNullable<typeof cluster> {
  if (cluster === null) throw new Error('no local control plane (see the notice of global-setup-cluster.ts)');
  return cluster;
}

export function run(bin: string, args: string[], input?: string, env: NodeJS.ProcessEnv = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** kubectl with the admin kubeconfig (or `kubeconfig`); `input` is piped to stdin (`-f -`). */
export function kubectl(args: string[], input?: string, kubeconfig?: string): Promise<Ran> {
  const config = kubeconfig ?? need().kubeconfig;
  return run(KUBECTL, ['--kubeconfig', config, '--request-timeout=30s', ...args], input);
}

/** kubectl that must succeed; returns its stdout. */
export async function kubectlOk(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input);
  if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return r.stdout;
}

export async function getJson(args: string[]): Promise<K8sObject> {
  return JSON.parse(await kubectlOk([...args, '-o', 'json'])) as K8sObject;
}

/** helm with the admin kubeconfig; must succeed. */
export async function helm(args: string[]): Promise<string> {
  const r = await run(HELM_BIN, ['--kubeconfig', need().kubeconfig, ...args]);
  if (r.status !== 0) throw new Error(`helm ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return r.stdout;
}

/** Polls `probe` until it returns a value other than undefined (every 200 ms, up to `ms`). */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  ms = 30_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** One event of the API server's audit log (audit.k8s.io/v1 Event), the fields the suites read. */
export interface ApiAuditEvent {
  auditID: string;
  stage: string;
  verb: string;
  requestURI: string;
  user: { username: string; groups?: string[] };
  objectRef?: {
    resource?: string;
    subresource?: string;
    namespace?: string;
    name?: string;
    apiGroup?: string;
  };
  responseStatus?: { code?: number; message?: string };
  annotations?: Record<string, string>;
}

/** Every event the API server has written to its audit log so far. */
export async function apiAuditLog(): Promise<ApiAuditEvent[]> {
  const text = await readFile(join(need().dir, 'audit.log'), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as ApiAuditEvent);
}

/** A fresh namespace (its default ServiceAccount made by the controller manager, as pods need). */
export async function createNamespace(name: string, labels: Record<string, string> = {}): Promise<string> {
  await kubectlOk(['create', 'namespace', name]);
  if (Object.keys(labels).length > 0)
    await kubectlOk(['label', 'namespace', name, ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)]);
  await eventually(`the default ServiceAccount of ${name}`, async () =>
    (await kubectl(['get', 'serviceaccount', 'default', '-n', name])).status === 0 ? true : undefined,
  );
  return name;
}

/** POST to etcd's gRPC gateway with the API server's client certificate. */
async function etcdCall(path: string, body: unknown): Promise<K8sObject> {
  const { dir } = need();
  const pki = (f: string) => readFile(join(dir, 'pki', f));
  const url = new URL(path, (await readFile(join(dir, 'etcd-url'), 'utf8')).trim());
  const [ca, cert, key] = await Promise.all([
    pki('ca.crt'),
    pki('apiserver-etcd-client.crt'),
    pki('apiserver-etcd-client.key'),
  ]);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method: 'POST', ca, cert, key, timeout: 10_000 }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () =>
        res.statusCode === 200
          ? resolve(JSON.parse(text) as K8sObject)
          : reject(new Error(`etcd ${path}: ${text}`)),
      );
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`etcd ${path}: timeout`)));
    req.end(JSON.stringify(body));
  });
}

/**
 * One more kube-apiserver on the cluster's etcd with extra flags (scripts/test-cluster.sh apiserver),
 * e.g. `--watch-cache=false` so lists are read from etcd; stopped with the cluster. Its kubeconfig path.
 */
export function extraApiServer(name: string, flags: readonly string[]): Promise<string> {
  return run('bash', [
    join(ROOT, 'scripts', 'test-cluster.sh'),
    'apiserver',
    need().dir,
    name,
    ...flags,
  ]).then((r) => {
    if (r.status !== 0)
      throw new Error(`test-cluster.sh apiserver ${name} failed (${r.status}):\n${r.stderr}`);
    return r.stdout.trim();
  });
}

/** Compacts etcd up to its current revision: every older continue token then answers 410 Gone. */
export async function compactEtcd(): Promise<number> {
  const range = await etcdCall('/v3/kv/range', { key: Buffer.from('/').toString('base64'), limit: 1 });
  const revision = Number(range.header.revision);
  await etcdCall('/v3/kv/compaction', { revision: String(revision), physical: true });
  return revision;
}
