/**
 * Runs the imagegate CLI with its stdout, stderr and exit code: `imagegate()` in-process through
 * `main(argv, io)` (fast: most CLI tests), `imagegateProcess()` as a user does, a real process
 * (`node --import tsx src/cli/main.ts`, what `npx tsx src/cli/main.ts` runs) for the smoke tests.
 */
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { CliIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/program.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

const ENV = { IMAGEGATE_DATA_DIR: join(tmpdir(), 'imagegate-cli-test') };

/**
 * The CLI in this process: same parsing, commands and exit codes, output captured. `env` overrides
 * the environment the CLI sees (undefined removes a variable).
 */
export async function imagegate(
  args: string[],
  stdin?: string,
  env: Record<string, string | undefined> = {},
): Promise<Run> {
  const started = Date.now();
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    stdin: Readable.from(stdin !== undefined ? [Buffer.from(stdin)] : []),
    env: Object.fromEntries(
      Object.entries({ ...process.env, ...ENV, ...env }).filter(([, v]) => v !== undefined),
    ),
    onStop: () => undefined,
  };
  let code: number;
  try {
    code = await main(args, io);
  } catch (err) {
    // What bin main.ts prints for an error nobody caught.
    stderr += `imagegate: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`;
    code = 2;
  }
  return { code, stdout, stderr, ms: Date.now() - started };
}

/** `imagegate check --policy POLICY ARGS…` in this process, as `imagegate` runs it. */
export function imagegateCheck(policy: string, ...args: string[]): Promise<Run> {
  return imagegate(['check', '--policy', policy, ...args]);
}

/** The CLI as a real process (about a second per spawn: keep these few). */
export function imagegateProcess(args: string[], stdin?: string): Promise<Run> {
  const started = Date.now();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...ENV },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolvePromise({ code, stdout, stderr, ms: Date.now() - started }));
    child.stdin.end(stdin ?? '');
  });
}
