/**
 * `imagegate serve` as a child process with the chart's memory settings (from
 * charts/imagegate/values.yaml: `nodeHeapMiB` as `--max-old-space-size`, `nodeSemiSpaceMiB` as
 * `--max-semi-space-size`, `mallocMmapThreshold` as MALLOC_MMAP_THRESHOLD_), for tests that attack the real process:
 * it writes the policies, waits for "imagegate is serving", reads audit records off stdout by uid,
 * and reports the process's RSS, peak RSS and open sockets from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Agent, request } from 'undici';
import { parse as parseYaml } from 'yaml';
import type { AuditRecord } from '../../src/audit/types.js';
import { podReview } from './admission-fixtures.js';
import { ROOT } from './cli.js';
import { freePort } from './registry.js';

export interface ChartMemory {
  /** `resources.limits.memory` in MiB. */
  limitMiB: number;
  /** `nodeHeapMiB`: the V8 heap limit the chart sets. */
  heapMiB: number;
  /** `nodeSemiSpaceMiB`: the V8 semi-space limit the chart sets, if any. */
  semiSpaceMiB?: number;
  /** `mallocMmapThreshold`: glibc's MALLOC_MMAP_THRESHOLD_ the chart sets, if any. */
  mmapThreshold?: number;
}

/** The node flags and environment the chart gives serve's container (deployment.yaml). */
export function chartRuntime(memory: ChartMemory): { nodeArgs: string[]; env: Record<string, string> } {
  return {
    nodeArgs: [
      `--max-old-space-size=${memory.heapMiB}`,
      ...(memory.semiSpaceMiB !== undefined ? [`--max-semi-space-size=${memory.semiSpaceMiB}`] : []),
    ],
    env: memory.mmapThreshold !== undefined ? { MALLOC_MMAP_THRESHOLD_: String(memory.mmapThreshold) } : {},
  };
}

export function mebibytes(quantity: string): number {
  const m = /^(\d+)(Mi|Gi)$/.exec(quantity);
  if (m === null) throw new Error(`unexpected memory quantity ${quantity}`);
  return Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1);
}

export async function chartMemory(): Promise<ChartMemory> {
  const values = parseYaml(await readFile(join(ROOT, 'charts/imagegate/values.yaml'), 'utf8')) as {
    resources: { limits: { memory: string } };
    nodeHeapMiB: number;
    nodeSemiSpaceMiB?: number | null;
    mallocMmapThreshold?: number | null;
  };
  return {
    limitMiB: mebibytes(values.resources.limits.memory),
    heapMiB: values.nodeHeapMiB,
    semiSpaceMiB: values.nodeSemiSpaceMiB ?? undefined,
    mmapThreshold: values.mallocMmapThreshold ?? undefined,
  };
}

export interface ReviewAnswer {
  status: number;
  uid: string;
  allowed: boolean;
  message: string;
}

export interface ServeProcess {
  port: number;
  pid: number;
  dataDir: string;
  memory: ChartMemory;
  agent: Agent;
  /** Output that is not an audit record (last 200 KB). */
  output(): string;
  /** Audit records seen so far, by uid (taken out with `takeAudit`). */
  takeAudit(uid: string): AuditRecord | undefined;
  /** POSTs a pod review naming `images` to /validate with the API server's `timeout`. */
  review(uid: string, images: string[], timeout: string): Promise<ReviewAnswer>;
  get(path: string): Promise<number>;
  alive(): boolean;
  /** Current and peak resident set (VmRSS, VmHWM) in MiB. */
  rss(): Promise<{ rssMiB: number; hwmMiB: number }>;
  /** Sockets the process holds open now (its /proc fd table). */
  sockets(): number;
  stop(): Promise<void>;
}

/**
 * How serve starts: through tsx by default, or the compiled build the container image runs when
 * IMAGEGATE_SERVE_COMPILED names it (`npm run build` first; `dist/src/cli/main.js`). tsx's own
 * transformed sources and source maps are ~85 MiB of RSS the image does not have (an idle serve:
 * 233 MiB through tsx, 149 MiB compiled), so RSS bounds are only exact for the compiled build.
 */
function entry(): string[] {
  const compiled = process.env.IMAGEGATE_SERVE_COMPILED;
  if (compiled !== undefined && compiled !== '') return [resolve(ROOT, compiled)];
  return ['--import', 'tsx', join(ROOT, 'src/cli/main.ts')];
}

/**
 * More node flags for serve from IMAGEGATE_SERVE_NODE_ARGS (space-separated; diagnosis only, e.g.
 * `--trace-gc` or `--heapsnapshot-signal=SIGUSR2`): NODE_OPTIONS would reach the fuzzer's own process too.
 */
function diagnosticNodeArgs(): string[] {
  return (process.env.IMAGEGATE_SERVE_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
}

/** `imagegate serve` on 127.0.0.1:`port` as a child process (through tsx, or compiled: entry()), its data in `dataDir`. */
export function spawnServe(o: {
  port: number;
  dataDir: string;
  policyFile: string;
  args: string[];
  nodeArgs?: string[];
  env?: Record<string, string>;
}): ChildProcess {
  const serve = ['serve', '--listen', `127.0.0.1:${o.port}`, '--policy', o.policyFile, ...o.args];
  return spawn(process.execPath, [...(o.nodeArgs ?? []), ...entry(), ...serve], {
    cwd: ROOT,
    env: { ...process.env, ...o.env, IMAGEGATE_DATA_DIR: o.dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export async function startServeProcess(options: {
  /** ImagePolicy documents, written as one multi-document file. */
  policies: object[];
  /** More `serve` flags (`--insecure-registry`, `--unmatched`, …). */
  args: string[];
  /** Keep only audit records whose uid starts with this (each is dropped when taken). */
  prefix?: string;
  /**
   * With `--tls-cert` in `args`: the CA that signed it (default: the development CA serve writes),
   * and the client certificate `review` and `get` present (the API server's, for `--client-ca`).
   */
  tls?: { ca: string; client?: { cert: string; key: string } };
}): Promise<ServeProcess> {
  const memory = await chartMemory();
  const runtime = chartRuntime(memory);
  const dataDir = await mkdtemp(join(tmpdir(), 'imagegate-serve-'));
  await writeFile(
    join(dataDir, 'policies.yaml'),
    options.policies.map((d) => JSON.stringify(d)).join('\n---\n'),
  );
  const port = await freePort();
  const child = spawnServe({
    port,
    dataDir,
    policyFile: join(dataDir, 'policies.yaml'),
    args: options.args,
    nodeArgs: [...runtime.nodeArgs, ...diagnosticNodeArgs()],
    env: runtime.env,
  });
  let out = '';
  let partial = '';
  const audit = new Map<string, AuditRecord>();
  child.stdout?.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) {
      if (l.includes('"logger":"audit"')) {
        const r = JSON.parse(l) as AuditRecord;
        if (options.prefix === undefined || r.uid.startsWith(options.prefix)) audit.set(r.uid, r);
      } else out = (out + l + '\n').slice(-100_000);
    }
  });
  child.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-200_000)));
  const deadline = Date.now() + 60_000;
  while (!out.includes('imagegate is serving')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`serve did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const agent = new Agent({
    connect: {
      ca: options.tls?.ca ?? (await readFile(join(dataDir, 'imagegate-dev-ca.crt'), 'utf8')),
      ...(options.tls?.client !== undefined
        ? { cert: options.tls.client.cert, key: options.tls.client.key }
        : {}),
    },
    connections: 64,
  });
  const base = `https://localhost:${port}`;
  const pid = child.pid!;
  const status = async (): Promise<string> => readFile(`/proc/${pid}/status`, 'utf8');
  return {
    port,
    pid,
    dataDir,
    memory,
    agent,
    output: () => out,
    takeAudit(uid) {
      const r = audit.get(uid);
      audit.delete(uid);
      return r;
    },
    async review(uid, images, timeout) {
      const res = await request(`${base}/validate?timeout=${timeout}`, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(podReview(images, { uid, name: uid, namespace: 'team', user: 'mallory' })),
      });
      const text = await res.body.text();
      const body = JSON.parse(text) as {
        response?: { uid: string; allowed: boolean; status?: { message?: string } };
      };
      return {
        status: res.statusCode,
        uid: body.response?.uid ?? '',
        allowed: body.response?.allowed === true,
        message: body.response?.status?.message ?? text.slice(0, 2000),
      };
    },
    async get(path) {
      const res = await request(`${base}${path}`, { dispatcher: agent });
      await res.body.text();
      return res.statusCode;
    },
    alive: () => child.exitCode === null && child.signalCode === null,
    async rss() {
      const s = await status();
      const kib = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(s)?.[1]);
      return { rssMiB: kib('VmRSS') / 1024, hwmMiB: kib('VmHWM') / 1024 };
    },
    sockets() {
      let n = 0;
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        try {
          if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) n++;
        } catch {
          // closed between the listing and the read
        }
      }
      return n;
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGKILL');
      await agent.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
