/**
 * Builds side by side at the same moment (docs/benchmarks.md, issue 26 round 8): one registry, one
 * bare baseline server and one imagegate server per build directory (its own bench/server-child.mjs and
 * dist/: `git worktree add /tmp/ab-X <commit>`, node_modules linked or installed, `npx tsc -p
 * tsconfig.build.json`), closed-loop load alternated baseline → builds, ROUNDS times; prints each
 * server's CPU per cached review (median, and the lowest run) and what it adds to the baseline's. On a shared machine one
 * build per run measures the moment's load more than the code; this measures the builds together.
 *
 *   node --import tsx bench/ab-builds.ts old=/tmp/ab-old new=$PWD
 *   AB_ROUNDS=4 AB_SECONDS=3 AB_KB=5,20,50 AB_TAG=1 AB_PROFILE=/tmp/prof node --import tsx bench/ab-builds.ts …
 */
import { fork } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDevCertificate } from '../src/server/dev-cert.js';
import { startFaultProxy } from '../test/helpers/fault-proxy.js';
import { startRegistry } from '../test/helpers/registry.js';
import { RegistrySeeder } from '../test/helpers/registry-seeder.js';
import { keyPolicyYaml, pushSignedImage, signingKey } from '../test/helpers/signed-images.js';
import { cpuMicros } from './common.js';
import { closedLoop, pool, send, type Target } from './load.js';
import { CONNECTIONS, review } from './settings.js';

const ROUNDS = Number(process.env.AB_ROUNDS ?? '4');
const SECONDS = Number(process.env.AB_SECONDS ?? '3');
const SIZES = (process.env.AB_KB ?? '5').split(',').map(Number);
const BY_TAG = process.env.AB_TAG === '1';
const PROFILE = process.env.AB_PROFILE;

interface Running {
  label: string;
  url: string;
  cpu(): Promise<NodeJS.CpuUsage>;
  stop(): void;
}

const builds = process.argv.slice(2).map((arg) => {
  const [label, dir] = arg.split('=');
  if (label === undefined || dir === undefined) throw new Error(`expected label=dir, got ${arg}`);
  return { label, dir };
});
if (builds.length === 0) throw new Error('usage: bench/ab-builds.ts label=dir [label=dir …]');

const work = await mkdtemp(join(tmpdir(), 'imagegate-ab-'));
const registry = await startRegistry();
const proxy = await startFaultProxy(registry.url);
const seeder = new RegistrySeeder(registry);
const key = signingKey();
const policy = join(work, 'policy.yaml');
await writeFile(policy, keyPolicyYaml(key));
const cert = await createDevCertificate(work);
const images: string[] = [];
for (const name of ['app', 'sidecar']) {
  const digest = await pushSignedImage(seeder, proxy.host, `ab/${name}`, key);
  images.push(`${proxy.host}/ab/${name}${BY_TAG ? ':v1' : `@${digest}`}`);
}

function start(label: string, dir: string, kind: 'baseline' | 'imagegate'): Promise<Running> {
  const config = { kind, cert: cert.cert, key: cert.key, policy, registry: proxy.host };
  const child = fork(join(dir, 'bench', 'server-child.mjs'), [JSON.stringify(config)], {
    execArgv: PROFILE !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${join(PROFILE, label)}`] : [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${label}: server exited with ${code}`)));
    child.on('message', (m: { type: string; port?: number }) => {
      if (m.type !== 'ready') return;
      resolve({
        label,
        url: `https://127.0.0.1:${m.port ?? 0}`,
        cpu: () =>
          new Promise((done) => {
            const on = (r: { type: string; usage?: NodeJS.CpuUsage }): void => {
              if (r.type !== 'cpu' || r.usage === undefined) return;
              child.off('message', on);
              done(r.usage);
            };
            child.on('message', on);
            child.send({ type: 'cpu' });
          }),
        stop: () => {
          child.removeAllListeners('exit');
          child.send({ type: 'stop' });
        },
      });
    });
  });
}

const median = (xs: readonly number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const servers: Running[] = [await start('baseline', join(import.meta.dirname, '..'), 'baseline')];
try {
  for (const b of builds) servers.push(await start(b.label, b.dir, 'imagegate'));
  for (const kb of SIZES) {
    const body = review(images, kb * 1024);
    const target = (s: Running): Target => ({ url: s.url, ca: cert.ca, path: '/validate', body });
    for (const s of servers) {
      const p = pool(target(s), 1);
      const first = await send(p, target(s));
      await p.close();
      if (!first.allowed) throw new Error(`${s.label}: the pod is not allowed: check the policy`);
      await closedLoop(target(s), CONNECTIONS, kb === SIZES[0] ? 5 : 1); // JIT warm-up
    }
    const cpu = new Map<string, number[]>(servers.map((s) => [s.label, []]));
    for (let n = 0; n < ROUNDS; n++) {
      // the builds' order alternates round by round, the baseline first
      const [base, ...rest] = servers;
      for (const s of base === undefined ? [] : [base, ...(n % 2 === 0 ? rest : rest.reverse())]) {
        const c0 = await s.cpu();
        const r = await closedLoop(target(s), CONNECTIONS, SECONDS);
        cpu.get(s.label)?.push(cpuMicros(c0, await s.cpu()) / r.requests);
      }
    }
    const base = median(cpu.get('baseline') ?? []);
    const fmt = (xs: readonly number[]): string => xs.map((x) => x.toFixed(0)).join(' ');
    console.log(
      `${kb} KB by ${BY_TAG ? 'tag' : 'digest'}: baseline ${base.toFixed(0)} µs/review (${fmt(cpu.get('baseline') ?? [])})`,
    );
    // and by the lowest run of each: on a loaded machine contention only adds, so the minimum is
    // the steadier estimate of the code's own cost
    const baseMin = Math.min(...(cpu.get('baseline') ?? []));
    for (const b of builds) {
      const xs = cpu.get(b.label) ?? [];
      console.log(
        `  ${b.label}: ${median(xs).toFixed(0)} µs, adds ${(median(xs) - base).toFixed(0)} (${fmt(xs)}); ` +
          `lowest ${Math.min(...xs).toFixed(0)}, adds ${(Math.min(...xs) - baseMin).toFixed(0)}`,
      );
    }
  }
} finally {
  for (const s of servers) s.stop();
  await proxy.stop();
  await registry.stop();
  await rm(work, { recursive: true, force: true });
}
