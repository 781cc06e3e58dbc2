/** Section 1: cached decisions over HTTPS, imagegate against the baseline server (throughput, p99, CPU). */
import type { BenchContext } from './context.js';
import { cpuMicros } from './common.js';
import { closedLoop, fixedRate, pool, send, type LoadResult, type Target } from './load.js';
import { pushSignedImage } from '../test/helpers/signed-images.js';
import { CONNECTIONS, medianBy, PAIRS, review, SECONDS, WARMUP_SECONDS } from './settings.js';

export async function cachedSection(ctx: BenchContext): Promise<void> {
  const { seeder, key, policy, profileDir, proxy, child, row, results } = ctx;
  const cert = { ca: ctx.ca };
  const fast = await proxy(0);
  const cachedImages = [];
  for (const name of ['app', 'sidecar']) {
    const d = await pushSignedImage(seeder, fast.host, `cached/${name}`, key);
    cachedImages.push(`${fast.host}/cached/${name}@${d}`);
  }
  const baseline = await child({ kind: 'baseline' });
  const imagegate = await child(
    { kind: 'imagegate', policy, registry: fast.host },
    process.env.BENCH_PROFILE === '1' ? profileDir : undefined,
  );
  const cached: Record<string, unknown> = {};
  for (const kb of [5, 20, 50]) {
    const body = review(cachedImages, kb * 1024);
    const tb: Target = { url: baseline.url, ca: cert.ca, path: '/validate', body };
    const ti: Target = { url: imagegate.url, ca: cert.ca, path: '/validate', body };
    const warm = pool(ti, 1);
    const first = await send(warm, ti);
    if (!first.allowed) throw new Error('the cached pod is not allowed: check the bench policy');
    await warm.close();
    // Both servers reach steady state before anything is measured: imagegate has far more code
    // for V8 to tier up, and its first ~5 s under load cost about twice the steady CPU per request
    // (measured: 470 → 220 µs at 5 KB). The first size warms for WARMUP_SECONDS, later ones for 1 s.
    const warmup = kb === 5 ? WARMUP_SECONDS : 1;
    await closedLoop(tb, CONNECTIONS, warmup);
    await closedLoop(ti, CONNECTIONS, warmup);
    const registryBefore = fast.log.length;
    // Baseline and imagegate runs alternate, PAIRS times, and the pair with the median ratio is
    // reported: on a shared machine a single pair measures whatever else ran at that moment.
    const maxPairs: { b: LoadResult; i: LoadResult; cpuB: number; cpuI: number }[] = [];
    for (let n = 0; n < PAIRS; n++) {
      const c0 = await baseline.cpu();
      const b = await closedLoop(tb, CONNECTIONS, SECONDS);
      const c1 = await baseline.cpu();
      const i0 = await imagegate.cpu();
      const i = await closedLoop(ti, CONNECTIONS, SECONDS);
      const i1 = await imagegate.cpu();
      maxPairs.push({ b, i, cpuB: cpuMicros(c0, c1) / b.requests, cpuI: cpuMicros(i0, i1) / i.requests });
    }
    const { b: bMax, i: iMax, cpuB: cpuBase, cpuI: cpuIg } = medianBy(maxPairs, (p) => p.i.rps / p.b.rps);
    const rates: Record<string, { baseline: LoadResult; imagegate: LoadResult; rate: number }> = {};
    const ratePairs: Record<string, unknown[]> = {};
    for (const frac of [0.5, 0.8]) {
      // the rate comes from the fastest baseline run: the baseline's capacity, not its bad moment
      const rate = Math.round(Math.max(...maxPairs.map((p) => p.b.rps)) * frac);
      const pairs: { baseline: LoadResult; imagegate: LoadResult; rate: number }[] = [];
      for (let n = 0; n < PAIRS; n++) {
        const b = await fixedRate(tb, rate, SECONDS);
        const g = await fixedRate(ti, rate, SECONDS);
        pairs.push({ rate, baseline: b, imagegate: g });
      }
      rates[String(frac)] = medianBy(pairs, (p) => p.imagegate.p99 - p.baseline.p99);
      ratePairs[String(frac)] = pairs;
    }
    const registryRequests = fast.log.length - registryBefore;
    cached[`${kb}KB`] = {
      bytes: body.length,
      baselineMax: bMax,
      imagegateMax: iMax,
      rates,
      cpuMicrosPerRequest: { baseline: cpuBase, imagegate: cpuIg },
      registryRequests,
      maxPairs,
      ratePairs,
    };
    const tr = iMax.rps / bMax.rps;
    // Issue 14: ≥ 0.8 for 20 and 50 KB pods; ≥ 0.6 for 5 KB, where the baseline's own work is least.
    const wanted = kb === 5 ? 0.6 : 0.8;
    row(
      `cached ${kb} KB: max throughput`,
      `${iMax.rps.toFixed(0)}/s`,
      `${bMax.rps.toFixed(0)}/s`,
      tr,
      `≥ ${wanted.toFixed(2)}`,
      tr >= wanted,
      // CPU-bound on one thread: the ratio wanted allows baseline × (1/wanted − 1) of our own CPU
      `CPU: imagegate adds ${(cpuIg - cpuBase).toFixed(0)} µs per request to the baseline's ` +
        `${cpuBase.toFixed(0)}; ${wanted} allows ${(cpuBase * (1 / wanted - 1)).toFixed(0)}`,
    );
    /** The baseline's own p99 over its runs at one rate: how much of "added" is the moment's noise. */
    const spread = (runs: { baseline: LoadResult }[]): string => {
      const p99s = runs.map((p) => p.baseline.p99);
      const [lo, hi] = [Math.min(...p99s), Math.max(...p99s)];
      return runs.length > 1
        ? `; the baseline's own p99 ranged ${lo.toFixed(1)}–${hi.toFixed(1)} ms over its ${runs.length} runs at this rate`
        : '';
    };
    for (const [frac, r] of Object.entries(rates)) {
      const added = r.imagegate.p99 - r.baseline.p99;
      const load = r.rate / iMax.rps;
      row(
        `cached ${kb} KB @${Number(frac) * 100}% (${r.rate}/s): p99 (p50 ${r.imagegate.p50.toFixed(2)} vs ${r.baseline.p50.toFixed(2)})`,
        `${r.imagegate.p99.toFixed(2)} ms`,
        `${r.baseline.p99.toFixed(2)} ms`,
        r.imagegate.p99 / r.baseline.p99,
        `added ≤ 2 ms (${added.toFixed(2)})`,
        added <= 2,
        (load >= 1
          ? `the rate is ${(load * 100).toFixed(0)}% of imagegate's max throughput: its queue grows for the whole run`
          : `imagegate runs at ${(load * 100).toFixed(0)}% of its max throughput here: queueing`) +
          spread(ratePairs[frac] as { baseline: LoadResult }[]),
      );
    }
    row(
      `cached ${kb} KB: CPU per request`,
      `${cpuIg.toFixed(0)} µs`,
      `${cpuBase.toFixed(0)} µs`,
      cpuIg / cpuBase,
      'recorded',
      true,
    );
    row(
      `cached ${kb} KB: registry requests under load`,
      String(registryRequests),
      '0',
      registryRequests,
      '0',
      registryRequests === 0,
    );
  }
  results.cached = cached;
  await imagegate.stop();
  await baseline.stop();
}
