/**
 * The admission-cost section's view of the local control plane (scripts/test-cluster.sh): start and
 * stop it, and a small client that speaks to the API server with the admin client certificate over
 * undici, so the load generator's own cost stays far below kubectl's process per request.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';

export interface ApiAnswer {
  status: number;
  body: Record<string, unknown>;
}

export interface KubeClient {
  readonly server: string;
  call(method: string, path: string, body?: unknown): Promise<ApiAnswer>;
  close(): Promise<void>;
}

export interface LocalCluster {
  readonly dir: string;
  readonly client: KubeClient;
  stop(): void;
}

/** Starts a control plane in `dir`, or answers why it cannot (no Go, build failed). */
export function startLocalCluster(root: string, dir: string): LocalCluster | { unavailable: string } {
  const script = join(root, 'scripts', 'test-cluster.sh');
  const up = spawnSync('bash', [script, 'up', dir], {
    encoding: 'utf8',
    env: { ...process.env, TEST_CLUSTER_OWNER_PID: String(process.pid) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (up.status !== 0) {
    const last = up.stderr.trim().split('\n').slice(-3).join(' / ');
    return { unavailable: `scripts/test-cluster.sh up failed (${up.status}): ${last}` };
  }
  const kubeconfig = readFileSync(up.stdout.trim(), 'utf8');
  const server = /server:\s*(\S+)/.exec(kubeconfig)?.[1];
  if (server === undefined) return { unavailable: 'no server in the kubeconfig test-cluster.sh wrote' };
  const pki = join(dir, 'pki');
  const client = kubeClient(server, {
    ca: readFileSync(join(pki, 'ca.crt'), 'utf8'),
    cert: readFileSync(join(pki, 'admin.crt'), 'utf8'),
    key: readFileSync(join(pki, 'admin.key'), 'utf8'),
  });
  return {
    dir,
    client,
    stop: () => {
      void client.close();
      spawnSync('bash', [script, 'down', dir], { stdio: 'ignore' });
    },
  };
}

function kubeClient(server: string, tls: { ca: string; cert: string; key: string }): KubeClient {
  // As many connections as the load generator keeps requests in flight, plus polling.
  const agent = new Agent({ connect: tls, connections: 32, keepAliveTimeout: 30_000 });
  return {
    server,
    async call(method, path, body) {
      const res = await request(`${server}${path}`, {
        method: method as 'GET',
        dispatcher: agent,
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: 30_000,
        bodyTimeout: 30_000,
      });
      const text = await res.body.text();
      let parsed: Record<string, unknown> = {};
      try {
        parsed = JSON.parse(text) as Record<string, unknown>;
      } catch {
        parsed = { text };
      }
      return { status: res.statusCode, body: parsed };
    },
    close: () => agent.close(),
  };
}

/** `call` that must answer 2xx. */
export async function must(
  client: KubeClient,
  method: string,
  path: string,
  body?: unknown,
): Promise<Record<string, unknown>> {
  const a = await client.call(method, path, body);
  if (a.status >= 300)
    throw new Error(`${method} ${path}: ${a.status} ${JSON.stringify(a.body).slice(0, 400)}`);
  return a.body;
}

/** Polls until `probe` answers a value (every `everyMs`), or throws after `ms`. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  ms = 60_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
