/**
 * Bounded registry work: the registry requests of an audit depend on the distinct images (per
 * namespace policy set), not on how many workloads and pods run them; a second run over the
 * unchanged cluster is partly served by the engine's caches (passing verdicts).
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupEngine, type Setup } from '../../src/cli/setup.js';
import type { Inventory } from '../../src/cluster/inventory.js';
import { collectInventory, scanInventory } from '../../src/cluster/scan.js';
import { loadKubeConfig } from '../../src/kube/config.js';
import { createClusterLister } from '../../src/kube/list.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster-fixture.js';
import { commonOptions } from '../helpers/engine.js';

describe('audit registry requests', () => {
  let cluster: TestCluster;
  let inventory: Inventory;
  const setups: Setup[] = [];
  async function engineCountingRequests(): Promise<{ setup: Setup; count: () => number }> {
    let n = 0;
    const setup = await setupEngine(
      commonOptions({ policy: [cluster.policyFile], insecureRegistry: [cluster.registry.host] }),
      pino({ level: 'silent' }),
      { onRegistryRequest: () => void (n += 1) },
    );
    setups.push(setup);
    return { setup, count: () => n };
  }
  beforeAll(async () => {
    cluster = await startTestCluster();
    inventory = await collectInventory(
      createClusterLister(loadKubeConfig({ file: cluster.api.kubeconfigPath })!),
    );
  }, 120_000);
  afterAll(async () => {
    for (const s of setups) await s.registry.close();
    await cluster?.stop();
  });

  it('do not grow with the number of workloads running the same images', async () => {
    const plain = await engineCountingRequests();
    const report = await scanInventory(inventory, plain.setup.engine);
    expect(report.summary.evaluations).toBe(9);

    // 50 more namespaces (same policy set as shop: no tier label) running shop's workloads.
    const shop = inventory.workloads.filter((w) => w.namespace === 'shop');
    const labels = new Map(inventory.namespaceLabels);
    for (let i = 0; i < 50; i++) labels.set(`shop-${i}`, { team: 'shop' });
    const crowded: Inventory = {
      namespaceLabels: labels,
      workloads: [
        ...inventory.workloads,
        ...Array.from({ length: 50 }, (_, i) =>
          shop.map((w) => ({ ...w, namespace: `shop-${i}`, uid: `${w.uid ?? w.name}-${i}`, pods: 20 })),
        ).flat(),
      ],
    };
    const busy = await engineCountingRequests();
    const crowdedReport = await scanInventory(crowded, busy.setup.engine, { concurrency: 8 });
    expect(crowdedReport.summary.workloads).toBe(report.summary.workloads + 150);
    expect(crowdedReport.summary.evaluations).toBe(9);
    expect(busy.count()).toBe(plain.count());
  });

  it('are fewer on the next run: passing verdicts are cached', async () => {
    const engine = await engineCountingRequests();
    await scanInventory(inventory, engine.setup.engine);
    const first = engine.count();
    await scanInventory(inventory, engine.setup.engine);
    expect(engine.count() - first).toBeLessThan(first);
  });
});
