/**
 * Issue 26 goal 3 (20 images ≤ 1.3 × 1 image at +20 ms per request) with the registry's own cost taken
 * off the machine, as a remote registry's is: the same cold key-signed pods behind a delaying server
 * that answers from memory (bench/memo-registry.ts; every measured request answered once before, so
 * docker-registry and the fault proxy do no work while a pod is measured), imagegate's server
 * alternated trial by trial with bare undici making the same requests from the server's process
 * (bench/bare-pod.mjs). Rows beside the docker-registry ones of bench/cold-section.ts.
 */
import { Agent } from 'undici';
import type { FaultProxy } from '../test/helpers/fault-proxy.js';
import { pushSignedImage } from '../test/helpers/signed-images.js';
// @ts-expect-error: a plain .mjs module (the bench's server child imports it too)
import { barePod } from './bare-pod.mjs';
import { goalThreeWhy } from './cold-floor.js';
import { cpuMicros } from './common.js';
import type { BenchContext } from './context.js';
import { percentile, pool, send, type Target } from './load.js';
import { memoRegistry } from './memo-registry.js';
import { review, TRIALS } from './settings.js';

const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);

/** Measures and writes the rows; returns the figures for bench/results/latest.json. */
export async function coldMemoRows(
  ctx: BenchContext,
  upstream: FaultProxy,
  delay: number,
): Promise<Record<string, unknown>> {
  const { seeder, key, policy, row } = ctx;
  const memo = await memoRegistry(upstream.url, delay);
  const server = await ctx.child({ kind: 'imagegate', policy, registry: memo.host });
  const t: Target = { url: server.url, ca: ctx.ca, path: '/validate', body: '' };
  const client = pool(t, 2);
  try {
    let next = 0;
    const images = (n: number): Promise<string[]> =>
      Promise.all(
        Array.from({ length: n }, async () => {
          const repo = `memo/d${delay}/i${next++}`;
          return `${memo.host}/${repo}@${await pushSignedImage(seeder, memo.host, repo, key)}`;
        }),
      );
    const warm: string[][] = [];
    for (const w of [1, 4, 10, 20, 20]) warm.push(await images(w));
    const warmBare = await images(20);
    const trials: { n: number; reviewed: string[]; bare: string[] }[] = [];
    const count = { 1: TRIALS, 20: Math.max(2, Math.round(TRIALS * 0.6)) };
    for (let i = 0; i < Math.max(count[1], count[20]); i++)
      for (const n of [1, 20] as const)
        if (i < count[n]) trials.push({ n, reviewed: await images(n), bare: await images(n) });
    // every request a measured pod makes, answered once before: then all from memory
    const agent = new Agent({ connections: 64 });
    const all = [...warm.flat(), ...warmBare, ...trials.flatMap((x) => [...x.reviewed, ...x.bare])];
    for (let i = 0; i < all.length; i += 20)
      await barePod(`http://${memo.host}`, all.slice(i, i + 20), agent);
    await agent.close();
    // warm the process (JIT) and both pools as the docker-registry rows do; the engine's one
    // referrers API probe is forwarded here
    for (const w of warm) await send(client, t, review(w));
    await server.bare(warmBare);
    const misses = memo.misses();
    const latency: Record<number, number[]> = { 1: [], 20: [] };
    const bare: Record<number, number[]> = { 1: [], 20: [] };
    const cpu: Record<number, number> = { 1: 0, 20: 0 };
    let denied = 0;
    for (const x of trials) {
      const c0 = await server.cpu();
      const r = await send(client, t, review(x.reviewed));
      cpu[x.n] = (cpu[x.n] ?? 0) + cpuMicros(c0, await server.cpu());
      latency[x.n]?.push(r.ms);
      if (!r.allowed) denied++;
      bare[x.n]?.push(await server.bare(x.bare));
    }
    const med = (xs: number[] | undefined): number => percentile(sorted(xs ?? []), 50);
    const f = {
      oneMs: med(latency[1]),
      twentyMs: med(latency[20]),
      bareOneMs: med(bare[1]),
      bareTwentyMs: med(bare[20]),
      cpuOne: (cpu[1] ?? 0) / count[1],
      cpuTwenty: (cpu[20] ?? 0) / count[20] / 20,
      registryMsPerRequest: undefined,
    };
    // requests that reached docker-registry while measuring (0: the registry did no work)
    const missedWhileMeasuring = memo.misses() - misses;
    const label = `cold 20 images vs 1 image, +${delay} ms, registry answering from memory`;
    row(
      `${label}: bare undici, same requests`,
      `${f.bareTwentyMs.toFixed(1)} ms`,
      `1 image ${f.bareOneMs.toFixed(1)} ms`,
      f.bareTwentyMs / f.bareOneMs,
      'recorded',
      true,
    );
    row(
      `${label}: median latency`,
      `${f.twentyMs.toFixed(1)} ms`,
      `1 image ${f.oneMs.toFixed(1)} ms`,
      f.twentyMs / f.oneMs,
      '≤ 1.30',
      f.twentyMs / f.oneMs <= 1.3 && denied === 0,
      denied > 0
        ? `${denied} denied`
        : `registry off the machine (${missedWhileMeasuring} requests reached docker-registry while measuring); ` +
            goalThreeWhy(f),
    );
    return {
      delayMs: delay,
      trials: count,
      latenciesMs: latency,
      bareMs: bare,
      cpuMicrosPerImage: { 1: f.cpuOne, 20: f.cpuTwenty },
      ratio: f.twentyMs / f.oneMs,
      bareRatio: f.bareTwentyMs / f.bareOneMs,
      missedWhileMeasuring,
      denied,
    };
  } finally {
    await client.close();
    await server.stop();
    memo.close();
  }
}
