/** src/kube/list.ts through client-node against the API stand-in: pages, continue tokens, retries. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKubeConfig } from '../../src/kube/config.js';
import { createClusterLister, type ListedObject } from '../../src/kube/list.js';
import { clusterFixtures } from '../helpers/cluster-fixture.js';
import { KubeApiStandIn } from '../helpers/kube-api.js';

async function all(gen: AsyncGenerator<ListedObject>): Promise<ListedObject[]> {
  const out: ListedObject[] = [];
  for await (const o of gen) out.push(o);
  return out;
}

describe('createClusterLister', () => {
  const api = new KubeApiStandIn();
  let lister: ReturnType<typeof createClusterLister>;
  beforeAll(async () => {
    await api.start();
    for (const list of clusterFixtures('registry.test:5000')) api.load(list);
    lister = createClusterLister(loadKubeConfig({ file: api.kubeconfigPath })!);
  });
  afterAll(() => api.close());

  describe('when a list is longer than a page', () => {
    it('follows metadata.continue until the last page and yields every item once', async () => {
      const before = api.requests.length;
      const pages: number[] = [];
      const pods = await all(lister.list('Pod', { pageSize: 4, onPage: (_, n) => pages.push(n) }));
      expect(pods.map((p) => p.metadata.name)).toHaveLength(10);
      expect(new Set(pods.map((p) => p.metadata.uid)).size).toBe(10);
      expect(pods.every((p) => p.kind === 'Pod')).toBe(true);
      expect(pages).toEqual([4, 4, 2]);
      const requests = api.requests.slice(before);
      expect(requests.map((r) => r.query.continue ?? '')).toEqual([
        '',
        expect.any(String),
        expect.any(String),
      ]);
      expect(requests.every((r) => r.query.limit === '4')).toBe(true);
    });
  });

  describe('when a continue token has expired (410 Gone: etcd compacted)', () => {
    it('lists again from the start and yields every item', async () => {
      let expired = 0;
      api.answer = (req, res) => {
        if (req.query.continue === undefined || expired > 0 || !req.path.endsWith('/pods')) return false;
        expired += 1;
        res.writeHead(410, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            kind: 'Status',
            apiVersion: 'v1',
            status: 'Failure',
            reason: 'Expired',
            code: 410,
          }),
        );
        return true;
      };
      try {
        const pages: number[] = [];
        const pods = await all(lister.list('Pod', { pageSize: 4, onPage: (_, n) => pages.push(n) }));
        expect(expired).toBe(1);
        // The first page twice (before and after the restart), then the rest: nothing is missed.
        expect(pages).toEqual([4, 4, 4, 2]);
        expect(new Set(pods.map((p) => p.metadata.uid)).size).toBe(10);
      } finally {
        api.answer = undefined;
      }
    });
  });

  describe('when the API server throttles or fails', () => {
    it('retries 429 and 503 with backoff, then succeeds', async () => {
      api.faults.push({ path: '/apis/apps/v1/deployments', status: 429, times: 1, retryAfter: 0 });
      api.faults.push({ path: '/apis/apps/v1/deployments', status: 503, times: 1 });
      const retries: (number | undefined)[] = [];
      const deployments = await all(
        lister.list('Deployment', { retry: { initialMs: 10, onRetry: (r) => retries.push(r.code) } }),
      );
      expect(retries).toEqual([429, 503]);
      expect(deployments.map((d) => d.metadata.name)).toEqual(['api', 'web']);
    });

    it('gives up after the attempts and does not retry a 403', async () => {
      api.faults.push({ path: '/apis/batch/v1/jobs', status: 503, times: 3 });
      await expect(all(lister.list('Job', { retry: { attempts: 3, initialMs: 5 } }))).rejects.toMatchObject({
        code: 503,
      });
      api.faults.push({ path: '/apis/batch/v1/cronjobs', status: 403, times: 1 });
      const before = api.requests.length;
      await expect(all(lister.list('CronJob', { retry: { initialMs: 5 } }))).rejects.toMatchObject({
        code: 403,
      });
      expect(api.requests.length - before).toBe(1);
    });
  });

  describe('when namespaces are given', () => {
    it('lists each namespace on its own path', async () => {
      const pods = await all(lister.list('Pod', { namespaces: ['infra', 'batch'] }));
      expect(pods.map((p) => `${p.metadata.namespace}/${p.metadata.name}`)).toEqual([
        'infra/db-0',
        'infra/legacy-9qv4c',
        'infra/log-agent-8fz2d',
        'batch/migrate-7xk2q',
        'batch/nightly-29410000-5hj2k',
      ]);
    });
  });
});
