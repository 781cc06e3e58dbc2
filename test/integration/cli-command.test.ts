/**
 * The command people type: after the README's set-up (`npm ci`, whose `prepare` step links the bin),
 * `npx imagegate …` runs the CLI from a clone, with its exit codes.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';

const exec = promisify(execFile);

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

async function npx(args: string[]): Promise<Outcome> {
  try {
    const { stdout, stderr } = await exec('npx', ['--no-install', 'imagegate', ...args], {
      cwd: ROOT,
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('npx imagegate (a clone after npm ci)', () => {
  beforeAll(async () => {
    // What `npm ci` runs after installing: the project's own `prepare` script.
    await exec('npm', ['run', '-s', 'prepare'], { cwd: ROOT, timeout: 60_000 });
  }, 60_000);

  it('prints the usage and exits 0 for --help', async () => {
    const run = await npx(['--help']);
    expect(run.stderr).not.toContain('not found');
    expect(run.stdout).toContain('imagegate: admit Kubernetes pods');
    expect(run.code).toBe(0);
  }, 60_000);

  it('exits 2 with a usage error for an unknown flag', async () => {
    const run = await npx(['check', '--no-such-flag', 'nginx']);
    expect(run.stderr).toContain('--no-such-flag');
    expect(run.code).toBe(2);
  }, 60_000);
});

describe("npm install -g . (the README's global install)", () => {
  it("puts an imagegate command on the prefix's PATH that runs from any directory", async () => {
    const prefix = await mkdtemp(join(tmpdir(), 'imagegate-global-'));
    try {
      await exec('npm', ['install', '-g', '.', '--prefix', prefix, '--no-audit', '--no-fund'], {
        cwd: ROOT,
        timeout: 120_000,
      });
      const { stdout } = await exec(join(prefix, 'bin', 'imagegate'), ['--help'], {
        cwd: tmpdir(),
        timeout: 60_000,
      });
      expect(stdout).toContain('imagegate: admit Kubernetes pods');
    } finally {
      await rm(prefix, { recursive: true, force: true });
    }
  }, 180_000);
});
