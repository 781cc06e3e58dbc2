/** Runs once before the integration project: fail early with a clear message when a required tool is missing. */
import { spawnSync } from 'node:child_process';

export default function setup(): void {
  const bin = process.env.IMAGEGATE_REGISTRY_BIN ?? 'docker-registry';
  const probe = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  if (probe.error !== undefined) {
    throw new Error(
      `${bin} not found: the registry tests need Debian's docker-registry package ` +
        `(run "npm test" as root to install it, or: sudo apt-get install docker-registry)`,
    );
  }
  const skopeo = spawnSync('skopeo', ['--version'], { encoding: 'utf8' });
  if (skopeo.error !== undefined) {
    throw new Error(
      'skopeo not found: the OCI layout tests copy images with it ' +
        '(run "npm test" as root to install it, or: sudo apt-get install skopeo)',
    );
  }
}
