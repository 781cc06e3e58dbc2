/**
 * Starts a real CNCF distribution registry (Debian's `docker-registry`) on a loopback port for a
 * test file. Storage lives in a temp dir the test may seed directly (see seed helpers).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestRegistry {
  /** host:port, e.g. 127.0.0.1:41234 */
  host: string;
  url: string;
  storageDir: string;
  /** The registry's process (the bench reads its CPU from /proc). */
  pid: number | undefined;
  stop(): Promise<void>;
}

export const REGISTRY_BIN = process.env.IMAGEGATE_REGISTRY_BIN ?? 'docker-registry';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface StartRegistryOptions {
  /** Contents of an htpasswd file (bcrypt entries) to require basic auth. */
  htpasswd?: string;
  /** Bearer token auth: realm URL, service, issuer, and the PEM cert bundle that signs tokens. */
  token?: { realm: string; service: string; issuer: string; rootCertBundlePath: string };
}

export async function startRegistry(options: StartRegistryOptions = {}): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'imagegate-registry-'));
  const storageDir = join(dir, 'storage');
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  let auth = '';
  if (options.htpasswd !== undefined) {
    await writeFile(join(dir, 'htpasswd'), options.htpasswd);
    auth = `auth:\n  htpasswd:\n    realm: imagegate-test\n    path: ${join(dir, 'htpasswd')}\n`;
  } else if (options.token !== undefined) {
    const t = options.token;
    auth = `auth:\n  token:\n    realm: ${t.realm}\n    service: ${t.service}\n    issuer: ${t.issuer}\n    rootcertbundle: ${t.rootCertBundlePath}\n`;
  }
  const config =
    `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n` +
    `storage:\n  filesystem:\n    rootdirectory: ${storageDir}\n  delete:\n    enabled: true\n` +
    `http:\n  addr: ${host}\n  secret: imagegate-test-secret\n${auth}`;
  await writeFile(join(dir, 'config.yml'), config);

  const child: ChildProcess = spawn(REGISTRY_BIN, ['serve', join(dir, 'config.yml')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    if (stderr.length < 8192) stderr += d.toString();
  });
  const exited = new Promise<never>((_, reject) => {
    child.once('error', (err) => reject(new Error(`cannot start ${REGISTRY_BIN}: ${err.message}`)));
    child.once('exit', (code) => reject(new Error(`${REGISTRY_BIN} exited with ${code}: ${stderr}`)));
  });
  exited.catch(() => undefined);

  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const res = await Promise.race([fetch(`http://${host}/v2/`), exited]);
      await res.arrayBuffer();
      if (res.status === 200 || res.status === 401) break;
    } catch (err) {
      if (child.exitCode !== null || Date.now() > deadline) throw err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  return {
    host,
    url: `http://${host}`,
    storageDir,
    pid: child.pid,
    async stop() {
      if (child.exitCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await gone;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
