/** Runs once before the chart project: fail early with a clear message when helm is missing. */
import { spawnSync } from 'node:child_process';
import { HELM } from '../../scripts/render-manifests.js';

export default function setup(): void {
  const probe = spawnSync(HELM, ['version', '--short'], { encoding: 'utf8' });
  if (probe.error !== undefined) {
    throw new Error(`${HELM} not found: the chart tests need helm (run scripts/setup-test-deps.sh)`);
  }
}
