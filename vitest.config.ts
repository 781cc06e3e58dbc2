/**
 * Five projects (`npx vitest run --project unit`):
 * - unit: test/unit/**, pure and in-process (no docker-registry, skopeo or helm), no global setup;
 *   its files share worker threads and their module graph (`isolate: false`): each file no longer
 *   re-imports sigstore, client-node and fastify (about 30 s instead of about 200 s on 2 cores). So a
 *   unit test must leave nothing behind: no module-level state it relies on, spies and stubs restored
 *   (restoreMocks/unstubEnvs/unstubGlobals below), fake timers undone. Check with
 *   `npx vitest run --project unit --sequence.shuffle.files --sequence.seed=N`.
 * - integration: test/integration/**, real servers on loopback; its global setup checks docker-registry and skopeo;
 * - chart: test/chart/**, the Helm chart, CRD and manifests; its global setup checks helm;
 * - image: test/image/**, builds the container image (`npm run image`, minutes the first time, then
 *   cached under build/cache/) and runs it under chroot; its global setup checks the Debian tools.
 * - cluster: test/cluster/**, against a real control plane (etcd, kube-apiserver, kube-controller-manager
 *   built from Go modules by scripts/test-cluster.sh; minutes the first time, then cached): its global
 *   setup starts one for the project and stops it after; files run one at a time (they install the chart,
 *   whose webhook configuration and CRD are cluster-wide). Without Go it skips with a notice (CI: fails).
 * `npm test` (`vitest run`) runs them all.
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Only the unit project runs on threads; vitest 3.2's pools read isolation from the root config.
    poolOptions: { threads: { isolate: false } },
    setupFiles: ['test/helpers/matchers.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          pool: 'threads',
          restoreMocks: true,
          unstubEnvs: true,
          unstubGlobals: true,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/helpers/global-setup.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'chart',
          include: ['test/chart/**/*.test.ts'],
          globalSetup: ['test/helpers/global-setup-chart.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'image',
          include: ['test/image/**/*.test.ts'],
          globalSetup: ['test/helpers/global-setup-image.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'cluster',
          include: ['test/cluster/**/*.test.ts'],
          globalSetup: ['test/helpers/global-setup-chart.ts', 'test/helpers/global-setup-cluster.ts'],
          poolOptions: { forks: { singleFork: true } },
          testTimeout: 90_000,
          hookTimeout: 240_000,
        },
      },
    ],
  },
});
