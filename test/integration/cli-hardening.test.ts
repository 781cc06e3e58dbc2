/**
 * Issue 12's small things a CLI user hits, through main(argv, io): policy paths that
 * hold no policy, and the exit code 2 (configuration/usage) they must give.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { imagegate } from '../helpers/cli.js';
import { freePort } from '../helpers/registry.js';

describe('imagegate with --policy paths that hold no ImagePolicy', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'imagegate-empty-'));
    await mkdir(join(dir, 'empty-dir'));
    await writeFile(join(dir, 'empty-dir', 'README.txt'), 'not a policy');
    await writeFile(join(dir, 'empty.yaml'), '# nothing here\n---\n');
  });

  it('check refuses an empty directory with exit 2', async () => {
    const run = await imagegate(['check', '--policy', join(dir, 'empty-dir'), 'nginx:1.27']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('holds no ImagePolicy document');
  });

  it('serve --mode enforce refuses an empty file with exit 2 and never listens', async () => {
    const port = await freePort();
    const run = await imagegate([
      'serve',
      '--mode',
      'enforce',
      '--listen',
      `127.0.0.1:${port}`,
      '--policy',
      join(dir, 'empty.yaml'),
    ]);
    expect(run.code).toBe(2);
    expect(`${run.stdout}${run.stderr}`).toContain('holds no ImagePolicy document');
    expect(`${run.stdout}${run.stderr}`).not.toContain('imagegate is serving');
  });
});

describe('imagegate check oci:PATH', () => {
  describe('when no layout is there', () => {
    it.each(['missing', 'empty-dir'])('exits 2 and says what is missing (%s)', async (what) => {
      const dir = await mkdtemp(join(tmpdir(), 'imagegate-layout-'));
      if (what === 'empty-dir') await mkdir(join(dir, 'out'));
      const run = await imagegate(['check', `oci:${join(dir, 'out')}:v1`]);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toContain(`no readable OCI image layout at ${join(dir, 'out')}`);
    });
  });
});
