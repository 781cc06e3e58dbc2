/** Child processes for the image build: argv arrays only (no shell), output captured, failures explained. */
import { execFile } from 'node:child_process';

export interface RunOptions {
  cwd?: string;
  /** Most bytes of stdout kept (default 64 MiB). */
  maxBuffer?: number;
  env?: NodeJS.ProcessEnv;
}

export function run(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { cwd: options.cwd, env: options.env, encoding: 'buffer', maxBuffer: options.maxBuffer ?? 64 << 20 },
      (err, stdout, stderr) => {
        if (err) {
          const detail = stderr.toString().trim().split('\n').slice(-5).join('\n');
          reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}${detail ? `\n${detail}` : ''}`));
        } else resolve(stdout);
      },
    );
  });
}
