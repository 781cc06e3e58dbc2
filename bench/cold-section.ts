/** Section 2 and 3: cold pods (images never seen) behind a delaying proxy, and a burst of identical cold reviews. */
import { pushSignedImage } from '../test/helpers/signed-images.js';
import { cpuMicros } from './common.js';
import { goalThreeWhy, processCpuMs } from './cold-floor.js';
import { coldMemoRows } from './cold-memo.js';
import type { BenchContext } from './context.js';
import { percentile, pool, send, type Target } from './load.js';
import {
  REQUESTS_FIRST_IMAGE,
  REQUESTS_PER_IMAGE,
  review,
  ROUND_TRIPS_PER_IMAGE,
  TRIALS,
  withUid,
} from './settings.js';

export async function coldSection(ctx: BenchContext): Promise<void> {
  const { seeder, key, policy, profileDir, proxy, child, row, results } = ctx;
  const cert = { ca: ctx.ca };
  // ---------------------------------------------------------------- 2. cold pods
  process.stderr.write('cold pods\n');
  const cold: Record<string, unknown> = {};
  for (const delay of [5, 20]) {
    const p = await proxy(delay);
    const server = await child(
      { kind: 'imagegate', policy, registry: p.host },
      process.env.BENCH_PROFILE === '1' ? profileDir : undefined,
    );
    const t: Target = { url: server.url, ca: cert.ca, path: '/validate', body: '' };
    const client = pool(t, 2);
    // Warm the connection and the process (JIT) with a signed image that is not measured.
    const warmDigest = await pushSignedImage(seeder, p.host, `warm/d${delay}`, key);
    const beforeWarm = p.log.length;
    await send(client, t, review([`${p.host}/warm/d${delay}@${warmDigest}`]));
    const firstRequests = p.log.length - beforeWarm;
    cold[`d${delay}-first`] = { requests: firstRequests, rMin: REQUESTS_FIRST_IMAGE };
    row(
      `cold first image of the process, +${delay} ms: registry requests`,
      String(firstRequests),
      `R_min ${REQUESTS_FIRST_IMAGE}`,
      firstRequests / REQUESTS_FIRST_IMAGE,
      '= 1.00',
      firstRequests === REQUESTS_FIRST_IMAGE,
    );
    // Baseline: one registry round trip through this proxy, measured now: a manifest GET (delay +
    // loopback + the registry's own service time, 2-4 ms for docker-registry on this machine).
    const rtts: number[] = [];
    for (let i = 0; i < 10; i++) {
      const s = performance.now();
      const res = await fetch(`${p.url}/v2/warm/d${delay}/manifests/${warmDigest}`, {
        headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
      });
      await res.arrayBuffer();
      rtts.push(performance.now() - s);
    }
    rtts.sort((a, b) => a - b);
    const rtt = percentile(rtts, 50);
    // "Cold" means images never seen, not a process that never ran: before measuring, warm the
    // process (JIT) with unmeasured cold pods of every size. (The first pod of a fresh process has
    // its own row in the real-registry section.)
    for (const w of [1, 4, 10, 20, 20]) {
      const images = await Promise.all(
        Array.from({ length: w }, async (_, k) => {
          const repo = `warm/d${delay}/w${w}-${k}`;
          return `${p.host}/${repo}@${await pushSignedImage(seeder, p.host, repo, key)}`;
        }),
      );
      await send(client, t, review(images));
      if (w === 20) await server.bare(images); // bare undici's own pool and JIT, warmed the same way
    }
    const medians = new Map<number, number>();
    const cpuPerImage = new Map<number, number>();
    const bareMedians = new Map<number, number>();
    let registryMsPerRequest: number | undefined;
    // the "registry" CPU split (over bare undici's 20-image pods, when the bench's process runs only
    // the fault proxy): docker-registry's and the Node fault proxy's, per request
    const split = { requests: 0, proxyMs: 0, registryMs: 0 as number | undefined };
    for (const n of [1, 4, 10, 20]) {
      const trials = n === 20 ? Math.max(2, Math.round(TRIALS * 0.6)) : TRIALS;
      const latencies: number[] = [];
      const requests: number[] = [];
      let denied = 0;
      let cpu = 0; // server CPU during the reviews only (not while the next images are pushed)
      const bare: number[] = []; // goal 3's floor: the same requests, bare undici, alternated with the reviews
      let registryMs: number | undefined = 0;
      for (let trial = 0; trial < trials; trial++) {
        const images = await Promise.all(
          Array.from({ length: n }, async (_, k) => {
            const repo = `cold/d${delay}/n${n}/t${trial}/i${k}`;
            return `${p.host}/${repo}@${await pushSignedImage(seeder, p.host, repo, key)}`;
          }),
        );
        const before = p.log.length;
        const c0 = await server.cpu();
        const g0 = processCpuMs(ctx.registryPid);
        const r = await send(client, t, review(images));
        const g1 = processCpuMs(ctx.registryPid);
        cpu += cpuMicros(c0, await server.cpu());
        latencies.push(r.ms);
        requests.push(p.log.length - before);
        registryMs =
          g0 === undefined || g1 === undefined || registryMs === undefined ? undefined : registryMs + g1 - g0;
        if (n === 1) bare.push(await server.bare(images));
        if (n === 20) {
          const [p0, r0, l0] = [process.cpuUsage(), processCpuMs(ctx.registryPid), p.log.length];
          bare.push(await server.bare(images));
          const [p1, r1] = [process.cpuUsage(p0), processCpuMs(ctx.registryPid)];
          split.requests += p.log.length - l0;
          split.proxyMs += (p1.user + p1.system) / 1000;
          split.registryMs =
            r0 === undefined || r1 === undefined || split.registryMs === undefined
              ? undefined
              : split.registryMs + r1 - r0;
        }
        if (!r.allowed) denied++;
      }
      latencies.sort((a, b) => a - b);
      const lMin = ROUND_TRIPS_PER_IMAGE * rtt;
      const rMin = REQUESTS_PER_IMAGE * n;
      const median = percentile(latencies, 50);
      medians.set(n, median);
      cpuPerImage.set(n, cpu / trials / n);
      if (bare.length > 0)
        bareMedians.set(
          n,
          percentile(
            [...bare].sort((a, b) => a - b),
            50,
          ),
        );
      if (n === 20 && registryMs !== undefined)
        registryMsPerRequest = registryMs / requests.reduce((a, b) => a + b, 0);
      const maxRequests = Math.max(...requests);
      cold[`d${delay}-n${n}`] = {
        delayMs: delay,
        images: n,
        trials,
        rttMs: rtt,
        lMinMs: lMin,
        latenciesMs: latencies,
        requests,
        rMin,
        denied,
        cpuMicrosPerReview: cpu / trials,
        ...(bare.length > 0 ? { bareMs: bare } : {}),
      };
      row(
        `cold ${n} images, +${delay} ms: median latency`,
        `${median.toFixed(1)} ms`,
        `L_min ${lMin.toFixed(1)} ms`,
        median / lMin,
        '≤ 1.20',
        median / lMin <= 1.2 && denied === 0,
        denied > 0
          ? `${denied} denied`
          : `CPU: ${(cpu / trials / 1000).toFixed(1)} ms of server CPU per review (${n} × ` +
              `${(cpu / trials / n / 1000).toFixed(2)} ms) on one thread, beside L_min ${lMin.toFixed(1)} ms`,
      );
      row(
        `cold ${n} images, +${delay} ms: registry requests`,
        String(maxRequests),
        `R_min ${rMin}`,
        maxRequests / rMin,
        '= 1.00',
        requests.every((x) => x === rMin),
      );
      if (delay === 5)
        row(
          `cold ${n} images: CPU per review`,
          `${(cpu / trials).toFixed(0)} µs (${(cpu / trials / n / 1000).toFixed(2)} ms per image)`,
          '-',
          Number.NaN,
          'recorded',
          true,
        );
    }
    const one = medians.get(1) ?? Number.NaN;
    const twenty = medians.get(20) ?? Number.NaN;
    const bareOne = bareMedians.get(1) ?? Number.NaN;
    const bareTwenty = bareMedians.get(20) ?? Number.NaN;
    cold[`d${delay}-parallelism`] = {
      oneMs: one,
      twentyMs: twenty,
      ratio: twenty / one,
      bareOneMs: bareOne,
      bareTwentyMs: bareTwenty,
      bareRatio: bareTwenty / bareOne,
      registryMsPerRequest,
      bareRegistryMsPerRequest:
        split.registryMs === undefined ? undefined : split.registryMs / split.requests,
      bareProxyMsPerRequest: split.proxyMs / split.requests,
    };
    row(
      `cold 20 images vs 1 image, +${delay} ms: bare undici, same requests (goal 3's floor here)`,
      `${bareTwenty.toFixed(1)} ms`,
      `1 image ${bareOne.toFixed(1)} ms`,
      bareTwenty / bareOne,
      'recorded',
      true,
    );
    row(
      `cold 20 images vs 1 image, +${delay} ms: median latency`,
      `${twenty.toFixed(1)} ms`,
      `1 image ${one.toFixed(1)} ms`,
      twenty / one,
      '≤ 1.30',
      twenty / one <= 1.3,
      goalThreeWhy({
        oneMs: one,
        twentyMs: twenty,
        bareOneMs: bareOne,
        bareTwentyMs: bareTwenty,
        cpuOne: cpuPerImage.get(1) ?? 0,
        cpuTwenty: cpuPerImage.get(20) ?? 0,
        registryMsPerRequest,
        proxyMsPerRequest: split.requests > 0 ? split.proxyMs / split.requests : undefined,
      }),
    );
    await client.close();
    // the same ratio with the registry's cost off the machine (a remote registry's is), same run
    if (delay === 20) cold[`d${delay}-memo`] = await coldMemoRows(ctx, p, delay);

    // ---------------------------------------------------------------- 3. burst (on the 5 ms proxy)
    if (delay === 5) {
      process.stderr.write('burst\n');
      const digest = await pushSignedImage(seeder, p.host, 'burst/app', key);
      const body = review([`${p.host}/burst/app@${digest}`]);
      const burstPool = pool(t, 250);
      const before = p.log.length;
      const started = performance.now();
      const answers = await Promise.all(
        Array.from({ length: 1000 }, (_, i) =>
          send(burstPool, t, withUid(body, `burst-${i}`)).catch(() => undefined),
        ),
      );
      const wall = performance.now() - started;
      await burstPool.close();
      const requests = p.log.length - before;
      const latencies = answers
        .filter((a) => a !== undefined)
        .map((a) => a.ms)
        .sort((a, b) => a - b);
      const notAllowed = answers.filter((a) => a === undefined || !a.allowed || a.status !== 200).length;
      results.burst = {
        reviews: 1000,
        answered: latencies.length,
        notAllowed,
        requests,
        rMin: REQUESTS_PER_IMAGE,
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        wallMs: wall,
      };
      row(
        'burst 1000 identical cold reviews: registry requests',
        String(requests),
        `R_min ${REQUESTS_PER_IMAGE}`,
        requests / REQUESTS_PER_IMAGE,
        '= 1.00',
        requests === REQUESTS_PER_IMAGE,
      );
      row(
        'burst: reviews not allowed (overload denials)',
        String(notAllowed),
        '0',
        notAllowed,
        '= 0',
        notAllowed === 0,
      );
      row(
        'burst: p99 latency',
        `${percentile(latencies, 99).toFixed(0)} ms`,
        `p50 ${percentile(latencies, 50).toFixed(0)} ms`,
        percentile(latencies, 99) / percentile(latencies, 50),
        'reported',
        true,
      );
    }
    await server.stop();
  }
  results.cold = cold;
}
