/**
 * Runs once before the image project: the image build needs Debian's apt-cache, apt-get and dpkg-deb
 * (and npm); its tests need docker-registry, skopeo and umoci. Fail early, saying what to install.
 */
import { spawnSync } from 'node:child_process';
import registrySetup from './global-setup.js';

const TOOLS: Array<[string, string[], string]> = [
  ['apt-cache', ['--version'], 'the image build reads Debian package versions with it (a Debian system)'],
  ['dpkg-deb', ['--version'], 'the image build reads .deb files with it (a Debian system)'],
  ['umoci', ['--version'], 'the image tests unpack the built image with it (apt-get install umoci)'],
];

export default function setup(): void {
  registrySetup();
  for (const [tool, args, why] of TOOLS) {
    if (spawnSync(tool, args, { encoding: 'utf8' }).error !== undefined)
      throw new Error(`${tool} not found: ${why}; run "npm test" as root to install missing tools`);
  }
}
