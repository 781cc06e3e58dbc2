/**
 * `imagegate audit` against the Kubernetes API stand-in (HTTPS, kubeconfig, client-node) whose
 * workloads' images live in a real registry: paging, throttling, owner grouping, the same engine as
 * the webhook (signature and size checks really run), json and text output, exit codes.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { parseCommand } from '../../src/cli/args.js';
import { runAudit } from '../../src/cli/audit.js';
import type { AuditReport, AuditWorkload } from '../../src/cluster/result.js';
import { imagegate } from '../helpers/cli.js';
import { startTestCluster } from '../helpers/cluster-fixture.js';
import { useSuiteValue } from '../helpers/suite-value.js';

interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

async function audit(argv: string[]): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  const cmd = parseCommand(['audit', ...argv]);
  if (cmd.command !== 'audit') throw new Error('not an audit command');
  const code = await runAudit(cmd, pino({ level: 'silent' }), {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
  });
  return { code, stdout, stderr };
}

function workload(report: AuditReport, ns: string, kind: string, name: string): AuditWorkload {
  const w = report.namespaces
    .find((n) => n.name === ns)
    ?.workloads.find((x) => x.kind === kind && x.name === name);
  if (w === undefined) throw new Error(`no ${kind} ${ns}/${name} in the report`);
  return w;
}

describe('imagegate audit', () => {
  const cluster = useSuiteValue(startTestCluster, (c) => c.stop());
  const audited = useSuiteValue(
    async () => {
      // The first page of pods is throttled once: the run waits Retry-After and goes on.
      cluster.api.faults.push({ path: '/api/v1/pods', status: 429, times: 1, retryAfter: 1 });
      const run = await audit([
        ...cluster.flags,
        '--kubeconfig',
        cluster.api.kubeconfigPath,
        '--output',
        'json',
      ]);
      return { run, report: JSON.parse(run.stdout) as AuditReport };
    },
    async () => undefined,
  );

  describe('when some running workloads would be denied', () => {
    it('exits 1 and prints one JSON document of the documented shape', () => {
      expect(audited.run.code).toBe(1);
      expect(audited.report).toMatchObject({
        apiVersion: 'imagegate.dev/v1alpha1',
        kind: 'AuditReport',
        scope: { namespaces: 'all', policies: ['signed', 'small'], unmatched: 'default' },
        outcome: 'fail',
      });
      expect(audited.report.namespaces.map((n) => n.name)).toEqual(['batch', 'infra', 'kube-system', 'shop']);
    });

    it('lists every kind page by page with limit/continue and retries the throttled page', () => {
      const pods = cluster.api.requests.filter((r) => r.path === '/api/v1/pods');
      expect(pods[0]).toMatchObject({ method: 'GET', query: { limit: '500' } });
      expect(pods.length).toBe(2); // 429, then the page
      for (const path of [
        '/api/v1/namespaces',
        '/apis/apps/v1/deployments',
        '/apis/apps/v1/statefulsets',
        '/apis/apps/v1/daemonsets',
        '/apis/apps/v1/replicasets',
        '/apis/batch/v1/jobs',
        '/apis/batch/v1/cronjobs',
        '/api/v1/replicationcontrollers',
      ])
        expect(cluster.api.requests.some((r) => r.path === path && r.query.limit === '500')).toBe(true);
    });

    it('groups pods under their top-level owner', () => {
      expect(workload(audited.report, 'shop', 'Deployment', 'web')).toMatchObject({
        pods: 2,
        outcome: 'pass',
        admission: 'allow',
      });
      expect(workload(audited.report, 'batch', 'CronJob', 'nightly')).toMatchObject({ pods: 1 });
      // An unlisted owner (the coredns Deployment) is the workload its ReplicaSet's pods go under.
      expect(workload(audited.report, 'kube-system', 'Deployment', 'coredns')).toMatchObject({
        pods: 1,
        outcome: 'pass',
      });
      const kinds = audited.report.namespaces.flatMap((n) =>
        n.workloads.map((w) => `${n.name}/${w.kind}/${w.name}`),
      );
      expect(kinds).not.toContain('shop/ReplicaSet/web-7d4b9c8f6d');
      expect(kinds).not.toContain('batch/Job/nightly-29410000');
      expect(kinds).toEqual(
        expect.arrayContaining([
          'batch/CronJob/weekly',
          'batch/Job/migrate',
          'infra/DaemonSet/log-agent',
          'infra/StatefulSet/db',
          'infra/ReplicationController/legacy',
          'shop/Pod/debug',
          'shop/Deployment/api',
        ]),
      );
      // The zero-replica old revision's image runs nowhere.
      expect(audited.run.stdout).not.toContain('shop/web:v0');
    });

    it('reports a CronJob with no pod running through its template', () => {
      const weekly = workload(audited.report, 'batch', 'CronJob', 'weekly');
      expect(weekly.pods).toBe(0);
      expect(weekly.containers[0]?.image).toMatchObject({ outcome: 'fail', admission: 'deny' });
    });

    it('explains each failing check with the engine’s own messages', () => {
      const api = workload(audited.report, 'shop', 'Deployment', 'api').containers[0]!.image;
      expect(api).toMatchObject({ outcome: 'fail', admission: 'deny' });
      expect(api.policies[0]).toMatchObject({ policy: 'signed', mode: 'enforce', result: 'fail' });
      expect(api.policies[0]!.findings.find((f) => f.check === 'signature')).toMatchObject({ passed: false });
      expect(api.digest).toBe(cluster.digests['shop/api']);

      // Namespace labels select `small` (tier=infra): the size check runs and names the heaviest layer.
      const db = workload(audited.report, 'infra', 'StatefulSet', 'db').containers[0]!.image;
      expect(db).toMatchObject({ outcome: 'fail', admission: 'would-deny' });
      const size = db.policies.find((p) => p.policy === 'small')!.findings.find((f) => f.check === 'size')!;
      expect(size.passed).toBe(false);
      expect(size.message).toMatch(
        /over the 256 KiB limit of policy small; heaviest: layer 2 .*apt-get install/,
      );
      expect(db.policies.find((p) => p.policy === 'signed')?.result).toBe('pass');
      // `small` does not apply in shop (no tier=infra label).
      expect(
        workload(audited.report, 'shop', 'Deployment', 'web').containers[0]!.image.policies.map(
          (p) => p.policy,
        ),
      ).toEqual(['signed']);
    });

    it('evaluates each distinct image once per namespace policy set', () => {
      // shop and batch select the same policies: shop/web:v1 (web, debug's init container, migrate) is one evaluation.
      expect(audited.report.summary.evaluations).toBe(9);
      expect(
        workload(audited.report, 'shop', 'Pod', 'debug').containers.map((c) => [
          c.name,
          c.field,
          c.image.outcome,
        ]),
      ).toEqual([
        ['setup', 'initContainers', 'pass'],
        ['shell', 'containers', 'fail'],
      ]);
    });

    it('sums up per policy, per check and per namespace', () => {
      expect(audited.report.summary).toMatchObject({
        namespaces: 4,
        workloads: 10,
        wouldDeny: 6,
        workloadOutcomes: { pass: 4, fail: 6, warn: 0, error: 0, skip: 0 },
        byNamespace: { shop: { pass: 1, fail: 2, warn: 0, error: 0, skip: 0 }, 'kube-system': { pass: 1 } },
      });
      expect(audited.report.summary.byPolicy.small).toEqual({ pass: 2, fail: 1, warn: 0, error: 0, skip: 0 });
      expect(audited.report.summary.byCheck.size).toMatchObject({ failed: 1 });
    });
  });

  describe('when --namespace narrows the scope', () => {
    it('lists only there and exits 0 when nothing there would be denied', async () => {
      const before = cluster.api.requests.length;
      const r = await audit([
        ...cluster.flags,
        '--kubeconfig',
        cluster.api.kubeconfigPath,
        '--namespace',
        'kube-system',
      ]);
      expect(r.code).toBe(0);
      const paths = cluster.api.requests.slice(before).map((q) => q.path);
      expect(paths).toContain('/api/v1/namespaces/kube-system/pods');
      expect(paths).toContain('/api/v1/namespaces/kube-system');
      expect(
        paths.every(
          (p) => p.startsWith('/api/v1/namespaces/kube-system') || p.includes('/namespaces/kube-system/'),
        ),
      ).toBe(true);
      expect(r.stdout).toMatch(
        /kube-system\s+Deployment\/coredns\s+coredns\s+\S+coredns:v1\.11\.1\s+✓ pass\s+allow/,
      );
      expect(r.stdout).toContain('result: nothing running would be denied');
      expect(r.stderr).toContain('imagegate audit: images 1/1');
    });
  });

  describe('when the output goes to a file as text', () => {
    it('writes the table, the reasons and the summary', async () => {
      const out = join(tmpdir(), `imagegate-audit-${process.pid}.txt`);
      const r = await audit([...cluster.flags, '--kubeconfig', cluster.api.kubeconfigPath, '--out', out]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      const text = await readFile(out, 'utf8');
      expect(text).toMatch(/^NAMESPACE\s+WORKLOAD\s+CONTAINER\s+IMAGE\s+RESULT\s+ADMISSION$/m);
      expect(text).toMatch(
        /infra StatefulSet\/db db: \S+infra\/db:v1\n {2}policy small \(audit\) size \[SIZE_EXCEEDED\]/,
      );
      expect(text).toContain('result: 6 workloads would be denied');
    });
  });

  describe('when the API server cannot be used', () => {
    it('exits 2 naming the server and the status when the credentials are refused (real process)', async () => {
      const kubeconfig = (await readFile(cluster.api.kubeconfigPath, 'utf8')).replace(
        'stand-in-token',
        'wrong',
      );
      const file = join(tmpdir(), `imagegate-kubeconfig-${process.pid}`);
      await writeFile(file, kubeconfig);
      const r = await imagegate(['audit', ...cluster.flags, '--kubeconfig', file]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(
        /imagegate: cannot list workloads from https:\/\/127\.0\.0\.1:\d+ \(HTTP 401\)/,
      );
    });

    it('exits 2 on an unknown --context', async () => {
      const r = await audit(['--kubeconfig', cluster.api.kubeconfigPath, '--context', 'prod']).catch(
        (e: Error) => e,
      );
      expect(r).toMatchObject({ code: 'CONFIG_INVALID' });
    });
  });
});
