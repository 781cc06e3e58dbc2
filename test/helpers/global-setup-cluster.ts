/**
 * Runs once before the cluster project: starts one local control plane (scripts/test-cluster.sh up:
 * etcd, kube-apiserver, kube-controller-manager; built the first time) for every cluster test file,
 * and stops it afterwards. Without Go (a user's machine) the suites skip with a printed notice;
 * under CI=true that is a failure.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ROOT } from './cli.js';

export interface ProvidedCluster {
  /** Admin kubeconfig (system:masters) of the running control plane. */
  kubeconfig: string;
  /** The cluster's directory: logs, audit.log (the API server's audit log), pki/. */
  dir: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** null when the control plane could not be built here (no Go): suites skip. */
    cluster: ProvidedCluster | null;
  }
}

const SCRIPT = join(ROOT, 'scripts', 'test-cluster.sh');

export default function setup(project: TestProject): (() => void) | undefined {
  if (spawnSync('go', ['version'], { encoding: 'utf8' }).error !== undefined) {
    const why =
      'go not found: the cluster tests build kube-apiserver, etcd and kube-controller-manager from Go modules';
    if (process.env.CI === 'true') throw new Error(`${why}; required under CI=true`);
    console.warn(`[imagegate tests] ${why}: the cluster suites are skipped (install Go >= 1.26 to run them)`);
    project.provide('cluster', null);
    return undefined;
  }
  const dir = mkdtempSync(join(tmpdir(), 'imagegate-cluster-'));
  const up = spawnSync('bash', [SCRIPT, 'up', dir], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    // The cluster stops itself if this process dies without running the teardown.
    env: { ...process.env, TEST_CLUSTER_OWNER_PID: String(process.pid) },
  });
  if (up.status !== 0) throw new Error(`scripts/test-cluster.sh up failed (exit ${up.status}); see above`);
  project.provide('cluster', { kubeconfig: up.stdout.trim(), dir });
  return () => {
    spawnSync('bash', [SCRIPT, 'down', dir], { stdio: 'inherit' });
  };
}
