/**
 * A key `secretRef` to a Secret that is not there, met as a platform team meets it: `imagegate check`
 * (with `--kubeconfig`, else a configuration error, exit 2) and `imagegate serve` (/readyz names it),
 * against the Kubernetes API stand-in over HTTPS. Never client-node's raw `HTTP-Code: … Headers: {…}`.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imagegate, imagegateCheck } from '../helpers/cli.js';
import { writePolicyFile } from '../helpers/engine.js';
import { cosignKeySecret, KubeApiStandIn } from '../helpers/kube-api.js';
import { freePort } from '../helpers/registry.js';
import { policyYaml } from '../helpers/policy-documents.js';
import { spawnServe } from '../helpers/serve-process.js';

const PEM = '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n';

const policy = (name: string, secret: string): string => {
  const key = { secretRef: { namespace: 'imagegate', name: secret, key: 'cosign.pub' } };
  const images = [{ glob: `registry.example.com/${name}/**` }];
  return `---\n${policyYaml(name, { mode: 'enforce', images, signature: { authorities: [{ name: 'release', key }] } })}`;
};

const RAW_DUMP = /HTTP-Code|Unknown API Status|Headers:|Body:/;

describe('key.secretRef to a missing Secret', () => {
  let api: KubeApiStandIn;
  let policies: string;

  beforeAll(async () => {
    api = new KubeApiStandIn();
    await api.start();
    api.put(cosignKeySecret('imagegate', 'present-key', PEM));
    policies = await writePolicyFile(policy('ok-team', 'present-key') + policy('lost-team', 'missing-key'));
  });
  afterAll(() => api?.close());

  describe('imagegate check', () => {
    it('with --kubeconfig: exit 2 naming the policy and the Secret, in words', async () => {
      const run = await imagegateCheck(
        policies,
        '--kubeconfig',
        api.kubeconfigPath,
        'registry.example.com/ok-team/app@sha256:' + 'ab'.repeat(32),
      );
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(
        'policy lost-team: key.secretRef: cannot read Secret imagegate/missing-key: not found',
      );
      expect(run.stderr).not.toContain('ok-team');
      expect(run.stderr).not.toMatch(RAW_DUMP);
      expect(api.requests.some((r) => r.path.endsWith('/secrets/missing-key'))).toBe(true);
    });

    it('without any Kubernetes configuration: exit 2 asking for --kubeconfig', async () => {
      const home = await mkdtemp(join(tmpdir(), 'imagegate-home-'));
      const run = await imagegate(
        ['check', '--policy', policies, 'registry.example.com/ok-team/app:1'],
        undefined,
        { HOME: home, KUBECONFIG: '', KUBERNETES_SERVICE_HOST: undefined },
      );
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(
        'policy ok-team: key.secretRef needs Kubernetes access: give --kubeconfig FILE',
      );
    });
  });

  describe('imagegate audit without a kubeconfig', () => {
    it('says no kubeconfig was found and where it looked (exit 2)', async () => {
      const home = await mkdtemp(join(tmpdir(), 'imagegate-home-'));
      const run = await imagegate(['audit'], undefined, {
        HOME: home,
        KUBECONFIG: '',
        KUBERNETES_SERVICE_HOST: undefined,
      });
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(
        `no kubeconfig found (looked at --kubeconfig, $KUBECONFIG, ${home}/.kube/config`,
      );
      expect(run.stderr).not.toMatch(/localhost:8080|ECONNREFUSED|SSL/);
    });
  });

  describe('imagegate serve', () => {
    let child: ChildProcess;
    let agent: Agent;
    let port: number;

    beforeAll(async () => {
      const dataDir = await mkdtemp(join(tmpdir(), 'imagegate-serve-keys-'));
      port = await freePort();
      child = spawnServe({ port, dataDir, policyFile: policies, args: ['--kubeconfig', api.kubeconfigPath] });
      let out = '';
      child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
      const deadline = Date.now() + 60_000;
      while (!out.includes('imagegate is serving')) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`serve did not start:\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      agent = new Agent({ connect: { ca: await readFile(join(dataDir, 'imagegate-dev-ca.crt'), 'utf8') } });
    }, 90_000);
    afterAll(async () => {
      child?.kill('SIGTERM');
      await agent?.close();
    });

    it('/readyz stays ready (taking replicas out stops all admissions) and names the missing key', async () => {
      let body: { status?: string; degraded?: string[] } = {};
      const deadline = Date.now() + 20_000;
      do {
        const res = await request(`https://localhost:${port}/readyz`, { dispatcher: agent });
        expect(res.statusCode).toBe(200);
        body = (await res.body.json()) as typeof body;
        if ((body.degraded ?? []).length > 0) break;
        await new Promise((r) => setTimeout(r, 200));
      } while (Date.now() < deadline);
      expect(body.status).toBe('ready');
      expect(body.degraded).toEqual([
        expect.stringMatching(
          /^policy lost-team: key\.secretRef: cannot read Secret imagegate\/missing-key: not found/,
        ),
      ]);
      expect(JSON.stringify(body)).not.toMatch(RAW_DUMP);
    });
  });
});
