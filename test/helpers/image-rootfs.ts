/**
 * Runs a built OCI layout the way a container runtime would, without one: `umoci unpack` into a
 * root file system, then the config's Entrypoint under `chroot --userspec=UID:GID` with its Env.
 * chroot needs root; callers skip (with a printed notice) otherwise.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';

export const IS_ROOT = process.getuid?.() === 0;
const CHROOT = existsSync('/usr/sbin/chroot') ? '/usr/sbin/chroot' : 'chroot';

export interface ImageConfig {
  User: string;
  Env: string[];
  Entrypoint: string[];
  Cmd: string[];
  WorkingDir: string;
  ExposedPorts: Record<string, Record<string, never>>;
  Labels: Record<string, string>;
}

/** Unpacks `layoutDir:tag` into `bundle/rootfs` (rootless when not root). */
export function unpack(layoutDir: string, tag: string, bundle: string): string {
  const args = ['unpack', ...(IS_ROOT ? [] : ['--rootless']), '--image', `${layoutDir}:${tag}`, bundle];
  const r = spawnSync('umoci', args, { encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0)
    throw new Error(`umoci ${args.join(' ')}: ${r.error?.message ?? r.stderr} (apt-get install umoci)`);
  return join(bundle, 'rootfs');
}

/** Every package under a node_modules directory (nested ones too), by its lock-file path. */
export function installedPackages(
  nodeModules: string,
  prefix = 'node_modules/',
): Array<{ path: string; name: string; version: string }> {
  const out: Array<{ path: string; name: string; version: string }> = [];
  const visit = (dir: string, path: string): void => {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      name: string;
      version: string;
    };
    out.push({ path, name: pkg.name, version: pkg.version });
    if (existsSync(join(dir, 'node_modules')))
      out.push(...installedPackages(join(dir, 'node_modules'), `${path}/node_modules/`));
  };
  for (const name of readdirSync(nodeModules)) {
    if (name.startsWith('.')) continue;
    if (name.startsWith('@'))
      for (const sub of readdirSync(join(nodeModules, name)))
        visit(join(nodeModules, name, sub), `${prefix}${name}/${sub}`);
    else visit(join(nodeModules, name), `${prefix}${name}`);
  }
  return out;
}

function chrootArgs(rootfs: string, config: ImageConfig, args: string[]): string[] {
  return [`--userspec=${config.User}`, rootfs, ...config.Entrypoint, ...args];
}

const envOf = (config: ImageConfig): NodeJS.ProcessEnv =>
  Object.fromEntries(config.Env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));

export function runInImage(
  rootfs: string,
  config: ImageConfig,
  args: string[],
): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(CHROOT, chrootArgs(rootfs, config, args), { encoding: 'utf8', env: envOf(config) });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface ImageServer {
  url: string;
  ca: Buffer;
  post(path: string, body: unknown): Promise<{ status: number; json: unknown }>;
  get(path: string): Promise<{ status: number; json: unknown }>;
  stop(): Promise<void>;
  output(): string;
}

function call(
  url: string,
  ca: Buffer,
  method: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, ca, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, json: text === '' ? undefined : JSON.parse(text) }),
      );
    });
    req.once('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** `serve --listen 127.0.0.1:PORT ARGS` in the image, ready when /healthz answers over HTTPS. */
export async function serveInImage(
  rootfs: string,
  config: ImageConfig,
  port: number,
  args: string[],
): Promise<ImageServer> {
  const child: ChildProcess = spawn(
    CHROOT,
    chrootArgs(rootfs, config, ['serve', '--listen', `127.0.0.1:${port}`, ...args]),
    {
      env: envOf(config),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const url = `https://localhost:${port}`;
  const caFile = join(rootfs, 'tmp', 'imagegate', 'imagegate-dev-ca.crt');
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`serve exited with ${child.exitCode}: ${out}`);
    if (existsSync(caFile) && out.includes('imagegate is serving')) {
      const ca = readFileSync(caFile);
      return {
        url,
        ca,
        post: (path, body) => call(`${url}${path}`, ca, 'POST', body),
        get: (path) => call(`${url}${path}`, ca, 'GET'),
        output: () => out,
        stop: () =>
          new Promise((resolve) => {
            if (child.exitCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      };
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`serve did not start within 60 s: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
