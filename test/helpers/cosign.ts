/**
 * The real cosign, built from its Go module by scripts/build-cosign.sh (cached by version outside the
 * repo), run as a process against the loopback registry with its own HOME and TUF root: nothing it
 * caches leaks between runs, and nothing it could fetch leaves the machine (no network beyond
 * loopback here; keys and `--tlog-upload=false` make no Sigstore service necessary).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './cli.js';

export interface CosignBinary {
  version: string;
  /** 2 or 3 */
  major: number;
  path: string;
  /** Seconds this run spent building it (0 when it came from the cache). */
  builtSeconds: number;
}

/** Where scripts/build-cosign.sh keeps a version's binary. */
export function cosignBinaryPath(version: string): string {
  const cache = process.env.IMAGEGATE_TOOLS_CACHE ?? join(homedir(), '.cache', 'imagegate-tools');
  return join(cache, 'cosign', version, 'cosign');
}

export type CosignTools = { ok: true; binaries: CosignBinary[] } | { ok: false; reason: string };

/**
 * Builds (or finds in the cache) every pinned cosign version. A cold build takes minutes: the caller
 * gives its hook a long timeout. `ok: false` when Go is missing or the build failed.
 */
export function cosignTools(versions: readonly string[]): CosignTools {
  const run = spawnSync('bash', [join(ROOT, 'scripts/build-cosign.sh'), ...versions], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 30 * 60_000,
  });
  if (run.status !== 0) {
    const why = run.stderr.trim().split('\n').slice(-3).join(' / ') || (run.error?.message ?? '');
    return { ok: false, reason: `scripts/build-cosign.sh exited ${String(run.status)}: ${why}` };
  }
  const binaries = run.stdout
    .trim()
    .split('\n')
    .map((line) => {
      const [version = '', path = '', seconds = '0'] = line.split(' ');
      return { version, major: Number(version.slice(1).split('.')[0]), path, builtSeconds: Number(seconds) };
    });
  return { ok: true, binaries };
}

export interface CosignRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export const COSIGN_PASSWORD = 'imagegate-oracle';

/** A cosign with its own HOME/TUF root; `run` never throws on a non-zero exit. */
export interface Cosign {
  bin: CosignBinary;
  home: string;
  /** `env` adds to (or overrides) the isolated environment. */
  run(args: string[], options?: { cwd?: string; env?: Record<string, string> }): Promise<CosignRun>;
  /** Runs and throws with cosign's stderr when it fails (for the signing steps of the set-up). */
  must(args: string[], options?: { cwd?: string }): Promise<CosignRun>;
  /** `cosign generate-key-pair` in a fresh directory: the paths of cosign.key and cosign.pub, and the PEM. */
  generateKeyPair(): Promise<{ key: string; pub: string; publicPem: string }>;
}

export async function cosign(bin: CosignBinary): Promise<Cosign> {
  const home = await mkdtemp(join(tmpdir(), `imagegate-cosign-${bin.version}-`));
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    TUF_ROOT: join(home, 'tuf'),
    COSIGN_PASSWORD,
    // cosign v2 keeps OCI 1.1 referrers behind its experimental switch.
    COSIGN_EXPERIMENTAL: '1',
    // The loopback registry only; never a proxy.
    NO_PROXY: '*',
  };
  const run = (
    args: string[],
    options: { cwd?: string; env?: Record<string, string> } = {},
  ): Promise<CosignRun> =>
    new Promise((resolve, reject) => {
      const child = spawn(bin.path, args, {
        cwd: options.cwd ?? home,
        env: { ...env, ...options.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
      child.once('error', reject);
      child.once('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  const must = async (args: string[], options: { cwd?: string } = {}): Promise<CosignRun> => {
    const r = await run(args, options);
    if (r.code !== 0)
      throw new Error(`cosign ${bin.version} ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r;
  };
  return {
    bin,
    home,
    run,
    must,
    async generateKeyPair() {
      const dir = await mkdtemp(join(home, 'keys-'));
      await must(['generate-key-pair'], { cwd: dir });
      const pub = join(dir, 'cosign.pub');
      return { key: join(dir, 'cosign.key'), pub, publicPem: await readFile(pub, 'utf8') };
    },
  };
}
