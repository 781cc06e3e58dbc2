/**
 * `imagegate audit`'s paged lists against the real API server: small pages, with etcd compacted
 * mid-list, still give every pod to the audit. The default server answers continue tokens from its
 * watch cache; a second API server on the same etcd with `--watch-cache=false` reads them from etcd,
 * where compaction expires them (410 Gone), so the list's restart is proven against the real answer.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { createClusterLister } from '../../src/kube/list.js';
import { imagegate } from '../helpers/cli.js';
import {
  cluster,
  compactEtcd,
  createNamespace,
  extraApiServer,
  kubectlOk,
  NO_CLUSTER,
} from '../helpers/kube-cluster.js';

const APPS = 'apps-paging';
const PODS = 12;

describe.skipIf(NO_CLUSTER)('paged lists against the real API server', () => {
  beforeAll(async () => {
    await createNamespace(APPS);
    const items = Array.from({ length: PODS }, (_, i) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `p${i}`, namespace: APPS },
      spec: { containers: [{ name: 'app', image: `registry.invalid/app:${i}` }] },
    }));
    await kubectlOk(['create', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
  });

  /** Lists the namespace's pods 5 at a time through `kubeconfig`, compacting etcd after the first page. */
  async function listCompactingMidway(kubeconfig: string): Promise<{ pages: number[]; names: string[] }> {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const pages: number[] = [];
    const names: string[] = [];
    let compacted = false;
    for await (const pod of createClusterLister(kc).list('Pod', {
      namespaces: [APPS],
      pageSize: 5,
      onPage: (_, n) => pages.push(n),
    })) {
      names.push(pod.metadata.name!);
      if (!compacted) {
        compacted = true;
        // A write after the first page, then compaction up to it: the page's token is now too old.
        await kubectlOk(['create', 'configmap', `bump-${pages.length}-${Date.now()}`, '-n', APPS]);
        await compactEtcd();
      }
    }
    return { pages, names };
  }

  it('restarts a list whose continue token expired (etcd compacted, 410 Gone) and misses no pod', async () => {
    const fromEtcd = await extraApiServer('no-watch-cache', ['--watch-cache=false']);
    const { pages, names } = await listCompactingMidway(fromEtcd);
    // The first page's token answered 410: the list restarted, so the first page came twice.
    expect(pages).toEqual([5, 5, 5, 2]);
    expect(new Set(names).size).toBe(PODS);
    expect(names.length).toBe(pages.reduce((a, b) => a + b, 0));
  }, 120_000);

  it('the default server (watch cache) also gives every pod when etcd is compacted mid-list', async () => {
    const { pages, names } = await listCompactingMidway(cluster!.kubeconfig);
    // Kubernetes 1.37 answers continue tokens from its watch cache's snapshots, so compacting etcd
    // does not expire them ([5, 5, 2]); a server reading them from etcd restarts (test above).
    expect([
      [5, 5, 2],
      [5, 5, 5, 2],
    ]).toContainEqual(pages);
    expect(new Set(names).size).toBe(PODS);
  });

  it('imagegate audit --kubeconfig lists every pod of the namespace', async () => {
    const run = await imagegate([
      'audit',
      '--kubeconfig',
      cluster!.kubeconfig,
      '--namespace',
      APPS,
      '--output',
      'json',
      '--mode',
      'audit',
    ]);
    expect(run.stderr).not.toMatch(/forbidden|error/i);
    for (let i = 0; i < PODS; i++) expect(run.stdout).toContain(`registry.invalid/app:${i}`);
  });
});
