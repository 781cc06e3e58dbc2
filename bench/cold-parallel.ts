/**
 * Issue 26 goal 3, measured alone: a 20-image cold pod against a 1-image pod (+BENCH_DELAY ms per
 * registry request, default 20), imagegate in-process in a child (plain node over dist/: `npx tsc -p
 * tsconfig.build.json` first), alternated with bare undici making the same requests in the same order
 * (bench/cold-parallel-child.mjs). Medians over BENCH_ROUNDS rounds (default 5).
 *
 * BENCH_SPLIT=k: each pod is also reviewed split across k worker threads, each with its own engine.
 * BENCH_MEMO=1: the delaying server in front of docker-registry answers from memory what it has seen
 * (every pod's requests are made once before measuring): a registry whose own CPU per request is
 * small, as a remote registry's is to imagegate's machine. BENCH_FRESH=1: no warm-up pods, and each
 * measured pod's figures in order (a fresh process's first pods). BENCH_TIMELINE=1: each size's median
 * critical-path phases (bench/cold-parallel-timeline.ts) and the last largest pod's request timeline
 * (created, with BENCH_MEMO the answer sent, headers read, end; ms from the review's start).
 *
 * node --import tsx bench/cold-parallel.ts
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Agent } from 'undici';
import { startFaultProxy } from '../test/helpers/fault-proxy.js';
import { startRegistry } from '../test/helpers/registry.js';
import { RegistrySeeder } from '../test/helpers/registry-seeder.js';
import { keyPolicyYaml, pushSignedImage, signingKey } from '../test/helpers/signed-images.js';
// @ts-expect-error: a plain .mjs module (the bench's server child imports it too)
import { barePod } from './bare-pod.mjs';
import { podReviewBody } from './common.js';
import { type Entry, medianPhases, phases } from './cold-parallel-timeline.js';
import { memoRegistry } from './memo-registry.js';

const here = dirname(fileURLToPath(import.meta.url));
const DELAY = Number(process.env.BENCH_DELAY ?? 20);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SIZES = (process.env.BENCH_SIZES ?? '1,20').split(',').map(Number);
const SPLIT = Number(process.env.BENCH_SPLIT ?? 0);
const MEMO = process.env.BENCH_MEMO === '1';

interface Run {
  ms: number;
  cpuMs: number;
  loopBusyMs?: number;
  timeline: Entry[];
  /** The run's start, performance.timeOrigin + now (the memo server's `sent` clock). */
  t0Abs?: number;
  /** Connections undici opened during the run. */
  connects?: number;
}

const median = (xs: number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

const registry = await startRegistry();
const work = await mkdtemp(join(tmpdir(), 'imagegate-cold-parallel-'));
const proxy = await startFaultProxy(registry.url);
proxy.inject(/./, { kind: 'delay', ms: DELAY });
const memo = MEMO ? await memoRegistry(registry.url, DELAY) : undefined;
const host = memo?.host ?? proxy.host;
try {
  const seeder = new RegistrySeeder(registry);
  const key = signingKey();
  const policy = join(work, 'key.yaml');
  await writeFile(policy, keyPolicyYaml(key));
  let next = 0;
  const images = async (n: number): Promise<string[]> =>
    Promise.all(
      Array.from({ length: n }, async () => {
        const repo = `cp/i${next++}`;
        return `${host}/${repo}@${await pushSignedImage(seeder, host, repo, key)}`;
      }),
    );
  const parts = (list: string[]): string[] | undefined =>
    SPLIT > 0
      ? Array.from({ length: SPLIT }, (_, i) => list.filter((_, k) => k % SPLIT === i))
          .filter((p) => p.length > 0)
          .map((p) => podReviewBody(p, 0, 'cold'))
      : undefined;
  const warm = [];
  const warmParts = [];
  const all: string[] = [];
  for (const n of [1, 4, 20, 20]) {
    const [a, b] = [await images(n), await images(n)];
    all.push(...a, ...b);
    warm.push(podReviewBody(a, 0, 'warm'));
    const p = parts(b);
    if (p !== undefined) warmParts.push(p);
  }
  const warmImages = await images(20);
  all.push(...warmImages);
  const pods = [];
  for (let r = 0; r < ROUNDS; r++)
    for (const n of SIZES) {
      const [a, b, c] = [await images(n), await images(n), await images(n)];
      all.push(...a, ...b, ...c);
      pods.push({ n, body: podReviewBody(a, 0, 'cold'), parts: parts(c), bareImages: b });
    }
  if (memo !== undefined) {
    // every measured request answered once before, so that the memo server answers all from memory
    const agent = new Agent({ connections: 64 });
    for (let i = 0; i < all.length; i += 20) await barePod(`http://${host}`, all.slice(i, i + 20), agent);
    await agent.close();
  }
  const prewarmMisses = memo?.misses() ?? 0;
  const file = join(work, 'config.json');
  await writeFile(
    file,
    JSON.stringify({
      host,
      policy,
      warm,
      warmParts,
      warmImages,
      pods,
      ...(SPLIT > 0 ? { split: SPLIT } : {}),
    }),
  );
  const { stdout, stderr } = await promisify(execFile)(
    process.execPath,
    [join(here, 'cold-parallel-child.mjs'), file],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  if (stderr !== '') process.stderr.write(stderr);
  const runs = JSON.parse(stdout) as { n: number; imagegate: Run; split?: Run; bare: Run }[];
  const summary: Record<string, unknown> = { delay: DELAY, rounds: ROUNDS, split: SPLIT, memo: MEMO };
  // requests the memo server forwarded to docker-registry after its warm-up: only each engine's
  // first referrers API probe (one per engine, then remembered absent)
  if (memo !== undefined) summary.memoMisses = memo.misses() - prewarmMisses;
  for (const n of SIZES) {
    const mine = runs.filter((r) => r.n === n);
    const wait = (r: Run): number => median(r.timeline.map((e) => (e.headers ?? Number.NaN) - e.created));
    summary[`n${n}`] = {
      imagegateMs: median(mine.map((r) => r.imagegate.ms)),
      imagegateCpuMs: median(mine.map((r) => r.imagegate.cpuMs)),
      imagegateLoopBusyMs: median(mine.map((r) => r.imagegate.loopBusyMs ?? 0)),
      imagegateRequestToHeadersMs: median(mine.map((r) => wait(r.imagegate))),
      imagegateConnects: median(mine.map((r) => r.imagegate.connects ?? Number.NaN)),
      ...(SPLIT > 0
        ? {
            splitMs: median(mine.map((r) => r.split?.ms ?? Number.NaN)),
            splitCpuMs: median(mine.map((r) => r.split?.cpuMs ?? Number.NaN)),
          }
        : {}),
      bareMs: median(mine.map((r) => r.bare.ms)),
      bareCpuMs: median(mine.map((r) => r.bare.cpuMs)),
      bareRequestToHeadersMs: median(mine.map((r) => wait(r.bare))),
      bareConnects: median(mine.map((r) => r.bare.connects ?? Number.NaN)),
      ...(process.env.BENCH_TIMELINE === '1'
        ? {
            imagegatePhases: medianPhases(
              mine.map((r) => phases(r.imagegate.timeline, memo?.sent, r.imagegate.t0Abs)),
            ),
            barePhases: medianPhases(mine.map((r) => phases(r.bare.timeline, memo?.sent, r.bare.t0Abs))),
          }
        : {}),
    };
  }
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  // the first pods of a fresh process, in order (BENCH_FRESH=1 skips the child's warm-up pods)
  if (process.env.BENCH_FRESH === '1')
    process.stdout.write(
      `${JSON.stringify(runs.map((r) => ({ n: r.n, ms: +r.imagegate.ms.toFixed(1), cpuMs: r.imagegate.cpuMs })))}\n`,
    );
  if (process.env.BENCH_TIMELINE === '1') {
    const last = runs.filter((r) => r.n === Math.max(...SIZES)).at(-1)!;
    for (const [who, run] of [
      ['imagegate', last.imagegate],
      ['bare', last.bare],
    ] as const) {
      process.stdout.write(`${who} ${run.ms.toFixed(1)} ms\n`);
      // created, (memo: answer sent,) headers read, body end: ms from the review's start
      const sent = (e: Entry): number[] =>
        memo !== undefined ? [(memo.sent.get(e.path) ?? Number.NaN) - (run.t0Abs ?? Number.NaN)] : [];
      for (const e of [...run.timeline].sort((a, b) => a.created - b.created))
        process.stdout.write(
          `  ${[e.created, ...sent(e), e.headers ?? Number.NaN, e.done ?? Number.NaN].map((x) => x.toFixed(1).padStart(6)).join(' ')} ` +
            `${e.path.replace(/sha256[:-][0-9a-f]{64}/g, (m) => m.slice(0, 12))}\n`,
        );
    }
  }
} finally {
  memo?.close();
  await proxy.stop();
  await registry.stop();
  await rm(work, { recursive: true, force: true });
}
