/**
 * What the CLI may touch of its process: output streams, standard input, the environment and the
 * stop signals. `main(argv, io)` takes it, so tests run commands in-process with captured output.
 */
export interface CliIo {
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown };
  stdin: AsyncIterable<Buffer | string>;
  env: Readonly<Record<string, string | undefined>>;
  /** Calls `stop` once on the first SIGTERM or SIGINT (serve's graceful shutdown). */
  onStop(stop: (signal: string) => void): void;
}

/** The real process: what bin main.ts passes. */
export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    onStop(stop) {
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    },
  };
}
