/**
 * The chart installed into the local control plane with `webhook.url` pointing at an `imagegate serve`
 * on this host, run as the chart's pod would run it: the container's args and env from the installed
 * Deployment, its Secret/ConfigMap volumes written to a directory (the TLS Secret the chart generated,
 * whose certificate names 127.0.0.1), and the API identity of the chart's own ServiceAccount (a token
 * minted by TokenRequest). So an API call the chart's RBAC does not allow fails as it would in a pod.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { ROOT } from './cli.js';
import {
  apiAuditLog,
  cluster,
  eventually,
  getJson,
  helm,
  kubectl,
  kubectlOk,
  type ApiAuditEvent,
} from './kube-cluster.js';
import type { K8sObject } from './k8s.js';
import { freePort } from './registry.js';

export interface ChartServe {
  release: string;
  namespace: string;
  /** https://127.0.0.1:PORT (webhook.url). */
  url: string;
  serviceAccount: string;
  /** Everything serve wrote (stdout and stderr), parsed when it is a JSON line. */
  lines(): Array<Record<string, unknown>>;
  /** Audit records serve wrote (its audit log), in order. */
  auditRecords(): Array<Record<string, unknown>>;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** API calls of the chart's ServiceAccount that the API server refused (403), from its audit log. */
  forbidden(): Promise<string[]>;
  /**
   * Another replica of the same install (the chart's Deployment with more replicas): the same args,
   * volumes and token, its own port and pod name (IMAGEGATE_POD_NAME), started. Stopped by close().
   */
  replica(podName: string): Promise<ServeReplica>;
  /** helm uninstall, stop serve and its replicas, remove the local files. */
  close(): Promise<void>;
}

/** One `imagegate serve` process of an install. */
export interface ServeReplica {
  url: string;
  /** IMAGEGATE_POD_NAME (the Lease identity is this, `_`, the pid). */
  podName: string;
  lines(): Array<Record<string, unknown>>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface ChartServeOptions {
  release: string;
  namespace: string;
  /** --set / --set-json / -f arguments for helm. */
  values: string[];
}

/** The admin kubeconfig's server and CA, with a bearer token as the user. */
async function tokenKubeconfig(token: string): Promise<string> {
  const admin = parse(await readFile(cluster!.kubeconfig, 'utf8')) as K8sObject;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: admin.clusters,
    users: [{ name: 'sa', user: { token } }],
    contexts: [{ name: 'sa', context: { cluster: admin.clusters[0].name, user: 'sa' } }],
    'current-context': 'sa',
  });
}

/** Writes the pod's Secret and ConfigMap volumes under `root`; returns mountPath → local directory. */
async function materialiseVolumes(
  pod: K8sObject,
  namespace: string,
  root: string,
): Promise<Map<string, string>> {
  const mounts = new Map<string, string>();
  const container = pod.containers[0] as K8sObject;
  for (const m of (container.volumeMounts ?? []) as K8sObject[]) {
    const volume = (pod.volumes as K8sObject[]).find((v) => v.name === m.name);
    const local = join(root, m.name as string);
    await mkdir(local, { recursive: true });
    mounts.set(m.mountPath as string, local);
    const source = volume?.secret
      ? await getJson(['get', 'secret', volume.secret.secretName, '-n', namespace])
      : volume?.configMap
        ? await getJson(['get', 'configmap', volume.configMap.name, '-n', namespace])
        : undefined;
    for (const [key, value] of Object.entries((source?.data ?? {}) as Record<string, string>)) {
      const bytes = volume?.secret ? Buffer.from(value, 'base64') : Buffer.from(value);
      await mkdir(dirname(join(local, key)), { recursive: true });
      await writeFile(join(local, key), bytes, { mode: 0o600 });
    }
  }
  return mounts;
}

/** `--flag=/mount/path/file` → the local copy (the longest mount path that prefixes it; once). */
function localPath(arg: string, mounts: Map<string, string>): string {
  const byLength = [...mounts].sort(([a], [b]) => b.length - a.length);
  for (const [mountPath, local] of byLength) {
    const at = arg.indexOf(`=${mountPath}/`);
    if (at >= 0) return `${arg.slice(0, at + 1)}${local}${arg.slice(at + 1 + mountPath.length)}`;
  }
  return arg;
}

/** GET URL/readyz with the chart's CA: the status code. */
function readyz(url: string, ca: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const req = request(`${url}/readyz`, { ca, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

export async function installChartServe(options: ChartServeOptions): Promise<ChartServe> {
  const { release, namespace } = options;
  const port = await freePort();
  const url = `https://127.0.0.1:${port}`;
  await helm([
    'install', release, join(ROOT, 'charts', 'imagegate'),
    '--namespace', namespace, '--create-namespace',
    '--set', `webhook.url=${url}`,
    ...options.values,
  ]); // prettier-ignore
  const root = await mkdtemp(join(tmpdir(), 'imagegate-chart-serve-'));
  const deployment = await getJson([
    'get',
    'deployment',
    '-n',
    namespace,
    '-l',
    `app.kubernetes.io/instance=${release}`,
  ]);
  const pod = (deployment.items[0] as K8sObject).spec.template.spec as K8sObject;
  const serviceAccount = pod.serviceAccountName as string;
  const mounts = await materialiseVolumes(pod, namespace, root);
  const token = (
    await kubectlOk(['create', 'token', serviceAccount, '-n', namespace, '--duration=2h'])
  ).trim();
  const kubeconfig = join(root, 'kubeconfig');
  await writeFile(kubeconfig, await tokenKubeconfig(token), { mode: 0o600 });
  const container = pod.containers[0] as K8sObject;
  const ca = await readFile(join(mounts.get('/etc/imagegate/tls') ?? root, 'ca.crt'));
  const replicas: ServeReplica[] = [];

  /** serve as the Deployment's container runs it, listening on `port`, as pod `podName`. */
  const makeReplica = (port: number, podName: string): ServeReplica => {
    const url = `https://127.0.0.1:${port}`;
    const args = (container.args as string[])
      .map((a) => (a.startsWith('--listen=') ? `--listen=127.0.0.1:${port}` : localPath(a, mounts)))
      .concat(`--kubeconfig=${kubeconfig}`);
    const env: Record<string, string> = {};
    for (const e of (container.env ?? []) as K8sObject[]) {
      if (typeof e.value === 'string') env[e.name] = localPath(`=${e.value}`, mounts).slice(1);
      else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[e.name] = namespace;
      else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[e.name] = podName;
    }
    const lines: Array<Record<string, unknown>> = [];
    let child: ChildProcess | undefined;
    const replica: ServeReplica = {
      url,
      podName,
      lines: () => lines,
      async start() {
        const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], {
          cwd: ROOT,
          env: {
            ...process.env,
            ...env,
            IMAGEGATE_CACHE_DIR: join(root, `cache-${podName}`),
            KUBECONFIG: kubeconfig,
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        child = proc;
        let partial = '';
        const onData = (d: Buffer) => {
          const text = partial + d.toString();
          const parts = text.split('\n');
          partial = parts.pop() ?? '';
          for (const l of parts) {
            try {
              lines.push(JSON.parse(l) as Record<string, unknown>);
            } catch {
              lines.push({ text: l });
            }
          }
        };
        proc.stdout!.on('data', onData);
        proc.stderr!.on('data', onData);
        await eventually(
          `imagegate serve ready at ${url}`,
          async () => {
            if (proc.exitCode !== null)
              throw new Error(`serve exited ${proc.exitCode}: ${JSON.stringify(lines.slice(-5))}`);
            return (await readyz(url, ca)) === 200 ? true : undefined;
          },
          60_000,
        );
      },
      async stop() {
        const proc = child;
        child = undefined;
        if (proc === undefined || proc.exitCode !== null) return;
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await exited;
      },
    };
    replicas.push(replica);
    return replica;
  };
  const first = makeReplica(port, `${release}-host`);

  const serve: ChartServe = {
    release,
    namespace,
    url,
    serviceAccount,
    lines: () => first.lines(),
    auditRecords: () => first.lines().filter((l) => l.event === 'imagegate.decision'),
    start: () => first.start(),
    stop: () => first.stop(),
    async replica(podName) {
      const replica = makeReplica(await freePort(), podName);
      await replica.start();
      return replica;
    },
    async forbidden() {
      const user = `system:serviceaccount:${namespace}:${serviceAccount}`;
      const calls = (await apiAuditLog()).filter((e) => e.user.username === user);
      // None at all would make this check vacuous (the audit policy must log this user's calls).
      if (calls.length === 0) throw new Error(`no API call by ${user} in the API server's audit log`);
      // A 403 from NamespaceLifecycle (new content in a Terminating namespace) is no RBAC refusal.
      const rbac = (e: ApiAuditEvent) =>
        e.responseStatus?.code === 403 && e.responseStatus.message?.includes('is being terminated') !== true;
      return calls.filter(rbac).map((e) => `${e.verb} ${e.requestURI}`);
    },
    async close() {
      await Promise.all(replicas.map((r) => r.stop()));
      await helm(['uninstall', release, '--namespace', namespace, '--wait']);
      await kubectl(['delete', 'namespace', namespace, '--wait=false']);
      await rm(root, { recursive: true, force: true });
    },
  };
  await serve.start();
  return serve;
}
