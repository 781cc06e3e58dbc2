/**
 * The set-up every cluster suite that admits pods shares: the test images in a registry on loopback,
 * the chart installed in enforce mode with `imagegate serve` on this host (chart-serve.ts), and the
 * namespace the suite creates its workloads in. Read `images` and `serve` inside tests and hooks only.
 */
import { afterAll, beforeAll } from 'vitest';
import { installChartServe, type ChartServe } from './chart-serve.js';
import { startClusterImages, type ClusterImages } from './cluster-images.js';
import { createNamespace } from './kube-cluster.js';

export interface EnforcingChart {
  images: ClusterImages;
  serve: ChartServe;
}

export function useEnforcingChart(options: {
  release: string;
  namespace: string;
  /** The namespace the suite's workloads go to. */
  apps: string;
  /** `stop` leaves the release installed, for a suite that uninstalls it in a test of its own. */
  teardown?: 'close' | 'stop';
}): EnforcingChart {
  const world: Partial<EnforcingChart> = {};
  beforeAll(async () => {
    world.images = await startClusterImages();
    world.serve = await installChartServe({
      release: options.release,
      namespace: options.namespace,
      values: ['--set', 'mode=enforce', ...world.images.values],
    });
    await createNamespace(options.apps);
  }, 180_000);
  afterAll(async () => {
    await (options.teardown === 'stop' ? world.serve?.stop() : world.serve?.close());
    await world.images?.stop();
  });
  return world as EnforcingChart;
}
