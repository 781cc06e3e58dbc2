import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasKubeEnvironment, loadKubeConfig } from '../../../src/kube/config.js';

const dir = mkdtempSync(join(tmpdir(), 'imagegate-kubeconfig-'));
const FILE = join(dir, 'config');
writeFileSync(
  FILE,
  `apiVersion: v1
kind: Config
clusters:
  - name: dev
    cluster: { server: 'https://127.0.0.1:6443' }
  - name: staging
    cluster: { server: 'https://127.0.0.2:6443' }
users:
  - name: me
    user: { token: t }
contexts:
  - name: dev
    context: { cluster: dev, user: me }
  - name: staging
    context: { cluster: staging, user: me }
current-context: dev
`,
);

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toMatchObject({ code: 'CONFIG_INVALID' });
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('loadKubeConfig', () => {
  describe('when nothing asks for it and nothing is in reach', () => {
    it('returns undefined', () => {
      expect(loadKubeConfig({ env: {} })).toBeUndefined();
      expect(hasKubeEnvironment({})).toBe(false);
    });
  });

  describe('when --kubeconfig names a file', () => {
    it("uses the file's current context", () => {
      expect(loadKubeConfig({ file: FILE, env: {} })?.getCurrentCluster()?.server).toBe(
        'https://127.0.0.1:6443',
      );
    });

    it('switches to --context', () => {
      expect(loadKubeConfig({ file: FILE, context: 'staging', env: {} })?.getCurrentCluster()?.server).toBe(
        'https://127.0.0.2:6443',
      );
    });

    it('names the contexts the file has when --context is unknown', () => {
      expect(configError(() => loadKubeConfig({ file: FILE, context: 'prod', env: {} }))).toMatch(
        /--context prod: no such context in kubeconfig .*config \(it has: dev, staging\)/,
      );
    });

    it('says which file it could not read', () => {
      expect(configError(() => loadKubeConfig({ file: join(dir, 'absent'), env: {} }))).toMatch(
        /from kubeconfig .*absent/,
      );
    });
  });

  describe('when $KUBECONFIG is set', () => {
    it('is in reach', () => {
      expect(hasKubeEnvironment({ KUBECONFIG: FILE })).toBe(true);
    });
  });
});
