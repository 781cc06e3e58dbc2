/**
 * `imagegate audit`'s paged lists against the real API server: small pages, with etcd compacted
 * mid-list (which expires continue tokens on servers that read them from etcd), still give every pod
 * to the audit. The 410 restart itself is also covered against the API stand-in (test/unit/kube).
 */
import { KubeConfig } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { createClusterLister } from '../../src/kube/list.js';
import { imagegate } from '../helpers/cli.js';
import { cluster, compactEtcd, createNamespace, kubectlOk, NO_CLUSTER } from '../helpers/kube-cluster.js';

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

  it('restarts a list whose continue token expired (etcd compacted) and misses no pod', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(cluster!.kubeconfig);
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
        await kubectlOk(['create', 'configmap', 'bump', '-n', APPS]);
        await compactEtcd();
      }
    }
    // Kubernetes 1.37 answers continue tokens from its watch cache's snapshots, so compacting etcd
    // no longer expires them ([5, 5, 2]); an older server answers 410 and the list restarts
    // ([5, 5, 5, 2], the first page twice: the inventory keeps one copy per uid). Either way: complete.
    expect([
      [5, 5, 2],
      [5, 5, 5, 2],
    ]).toContainEqual(pages);
    expect(new Set(names).size).toBe(PODS);
    expect(names.length).toBe(pages.reduce((a, b) => a + b, 0));
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
