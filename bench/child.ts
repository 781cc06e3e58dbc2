/** The measured servers: bench/server-child.mjs forked as a baseline or as imagegate, with its CPU on request. */
import { fork, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** What bench/server-child.mjs is told to run. */
export interface ChildConfig {
  kind: 'baseline' | 'imagegate';
  cert: string;
  key: string;
  policy?: string;
  registry?: string;
  /** The registry speaks HTTPS (its CA comes in through NODE_EXTRA_CA_CERTS). */
  secure?: boolean;
}

export interface Server {
  url: string;
  child: ChildProcess;
  cpu(): Promise<NodeJS.CpuUsage>;
  /** Milliseconds for bare undici, in the server's process, to make these cold images' registry requests. */
  bare(images: readonly string[]): Promise<number>;
  stop(): Promise<void>;
}

export async function startChild(
  config: ChildConfig,
  profileDir?: string,
  env: Record<string, string> = {},
): Promise<Server> {
  const child = fork(join(here, 'server-child.mjs'), [JSON.stringify(config)], {
    execArgv: [...(profileDir !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, ...env },
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`server child exited with ${code}`)));
    child.on('message', (m: { type: string; port?: number }) => {
      if (m.type === 'ready') resolve(m.port ?? 0);
    });
  });
  return {
    url: `https://127.0.0.1:${port}`,
    child,
    cpu: () =>
      new Promise((resolve) => {
        const on = (m: { type: string; usage?: NodeJS.CpuUsage }): void => {
          if (m.type !== 'cpu' || m.usage === undefined) return;
          child.off('message', on);
          resolve(m.usage);
        };
        child.on('message', on);
        child.send({ type: 'cpu' });
      }),
    bare: (images) =>
      new Promise((resolve, reject) => {
        const on = (m: { type: string; ms?: number; error?: string }): void => {
          if (m.type !== 'bare') return;
          child.off('message', on);
          if (m.ms !== undefined) resolve(m.ms);
          else reject(new Error(`bare pod: ${m.error}`));
        };
        child.on('message', on);
        child.send({ type: 'bare', images });
      }),
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || !child.connected) return resolve();
        child.removeAllListeners('exit');
        child.once('exit', () => resolve());
        child.send({ type: 'stop' });
      }),
  };
}
