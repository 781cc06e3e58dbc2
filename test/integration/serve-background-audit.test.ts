/**
 * `imagegate serve --background-audit` as two real processes against the Kubernetes API stand-in:
 * one Lease, one writer; the report CRD absent → /readyz degraded on the writer, serving goes on;
 * Events for would-deny workloads from the writer only, and for an enforce-mode denial at admission
 * from whichever replica answered it; the audit metrics.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { podReview } from '../helpers/admission-fixtures.js';
import { ROOT } from '../helpers/cli.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster-fixture.js';
import { freePort } from '../helpers/registry.js';

interface Replica {
  name: string;
  child: ChildProcess;
  port: number;
  agent: Agent;
  stdout: () => string;
  exit: Promise<number | null>;
}

async function startReplica(cluster: TestCluster, name: string): Promise<Replica> {
  const dataDir = await mkdtemp(join(tmpdir(), `imagegate-serve-${name}-`));
  const port = await freePort();
  const args = [
    'serve',
    '--listen',
    `127.0.0.1:${port}`,
    ...cluster.flags,
    '--kubeconfig',
    cluster.api.kubeconfigPath,
    '--background-audit',
    '1m',
    '--events',
  ];
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], {
    cwd: ROOT,
    env: { ...process.env, IMAGEGATE_DATA_DIR: dataDir, POD_NAME: name, POD_NAMESPACE: 'imagegate' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((r) => child.once('exit', r));
  const deadline = Date.now() + 60_000;
  while (!out.includes('imagegate is serving')) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`serve ${name} did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const agent = new Agent({ connect: { ca: await readFile(join(dataDir, 'imagegate-dev-ca.crt'), 'utf8') } });
  return { name, child, port, agent, stdout: () => out, exit };
}

async function get(r: Replica, path: string): Promise<{ status: number; text: string }> {
  const res = await request(`https://localhost:${r.port}${path}`, { dispatcher: r.agent });
  return { status: res.statusCode, text: await res.body.text() };
}

describe('serve --background-audit, two replicas', () => {
  let cluster: TestCluster;
  let replicas: Replica[] = [];
  let leader: Replica;
  let follower: Replica;

  beforeAll(async () => {
    cluster = await startTestCluster(); // no report CRD installed
    replicas = await Promise.all([
      startReplica(cluster, 'imagegate-a'),
      startReplica(cluster, 'imagegate-b'),
    ]);
    // The first run starts about 6 s (a jittered tenth of the interval) after start-up.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const holder = cluster.api.objects('leases', 'imagegate')[0]?.spec?.holderIdentity as
        string | undefined;
      const l = replicas.find((r) => holder?.startsWith(`${r.name}_`) === true);
      if (l !== undefined && (await get(l, '/readyz')).text.includes('background audit')) {
        leader = l;
        follower = replicas.find((r) => r !== l)!;
        break;
      }
      if (Date.now() > deadline)
        throw new Error(`no background audit run:\n${replicas.map((r) => r.stdout()).join('\n')}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }, 150_000);

  afterAll(async () => {
    for (const r of replicas) {
      if (r.child.exitCode === null) r.child.kill('SIGKILL');
      await r.agent.close();
    }
    await cluster?.stop();
  });

  it('elects one writer: the Lease holder is degraded for the absent CRD, the other is not', async () => {
    const degraded = JSON.parse((await get(leader, '/readyz')).text) as {
      status: string;
      degraded: string[];
    };
    expect(degraded.status).toBe('ready');
    expect(degraded.degraded).toEqual([
      expect.stringMatching(
        /^background audit: .*the PolicyReport kind \(policyreports\.wgpolicyk8s\.io\/v1alpha2\) is not served/,
      ),
    ]);
    expect(JSON.parse((await get(follower, '/readyz')).text)).toEqual({
      status: 'ready',
      unmatched: 'deny where an enforcing policy applies (default; --unmatched allow|audit|deny overrides)',
    });
    expect(leader.stdout().match(/cannot write reports/g)).toHaveLength(1);
    expect(follower.stdout()).not.toMatch(/cannot write reports/);
    expect(
      cluster.api.requests.filter((r) => r.path.includes('policyreports') && r.method !== 'GET'),
    ).toEqual([]);
  });

  it('publishes the audit metrics on the writer', async () => {
    const metrics = (await get(leader, '/metrics')).text;
    expect(metrics).toMatch(/^imagegate_audit_last_run_timestamp_seconds \d{10}/m);
    expect(metrics).toMatch(/^imagegate_audit_duration_seconds \d/m);
    expect(metrics).toContain('imagegate_audit_results{result="fail"} 6');
    expect(metrics).toContain('imagegate_audit_results{result="pass"} 4');
  });

  it('sends the would-deny Events from the writer only', async () => {
    const deadline = Date.now() + 10_000;
    while (cluster.api.objects('events').length < 6 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    const events = cluster.api.objects('events');
    expect(events).toHaveLength(6);
    expect(new Set(events.map((e) => e.reportingInstance as string))).toEqual(
      new Set([expect.stringMatching(new RegExp(`^${leader.name}_`))]),
    );
  });

  it('sends an Event for an enforce-mode denial at admission, without delaying the answer', async () => {
    const review = podReview([`${cluster.registry.host}/shop/api:v1`], {
      namespace: 'shop',
      name: 'api-debug',
    });
    const res = await request(`https://localhost:${follower.port}/validate?timeout=10s`, {
      method: 'POST',
      dispatcher: follower.agent,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(review),
    });
    const answer = (await res.body.json()) as { response: { allowed: boolean } };
    expect(answer.response.allowed).toBe(false);
    const deadline = Date.now() + 10_000;
    let event;
    while (
      (event = cluster.api.objects('events', 'shop').find((e) => e.involvedObject.name === 'api-debug')) ===
      undefined
    ) {
      if (Date.now() > deadline) throw new Error('no admission Event');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(event).toMatchObject({
      type: 'Warning',
      reason: 'ImagePolicyViolation',
      involvedObject: { kind: 'Pod', name: 'api-debug', namespace: 'shop', apiVersion: 'v1' },
    });
    expect(event.message).toMatch(
      /^denied at admission \(CREATE\): \S+shop\/api:v1: policy signed signature: /,
    );
  });

  it('releases the Lease on SIGTERM', async () => {
    leader.child.kill('SIGTERM');
    expect(await leader.exit).toBe(0);
    expect(cluster.api.objects('leases', 'imagegate')[0]?.spec.holderIdentity).toBe('');
  });
});
