/**
 * `npm run bench`: imagegate against baselines measured in the same run, on loopback, with the real
 * registry (docker-registry) and the real HTTPS server. Prints a ratio table and writes
 * bench/results/latest.json. See docs/benchmarks.md. BENCH_SCALE=0.5 halves durations and trials.
 */
import { fork, execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDevCertificate } from '../src/server/dev-cert.js';
import { startFaultProxy, type FaultProxy } from '../test/helpers/fault-proxy.js';
import { startRegistry } from '../test/helpers/registry.js';
import { RegistrySeeder } from '../test/helpers/registry-seeder.js';
import { keyPolicyYaml, pushSignedImage, signingKey } from '../test/helpers/signed-images.js';
import { cpuMicros, podReviewBody, runScript, type Row } from './common.js';
import { closedLoop, fixedRate, percentile, pool, send, type LoadResult, type Target } from './load.js';
import { realRegistrySection } from './real-section.js';

const here = dirname(fileURLToPath(import.meta.url));
const SCALE = Number(process.env.BENCH_SCALE ?? '1');
const SECONDS = Math.max(1, 4 * SCALE);
const TRIALS = Math.max(2, Math.round(5 * SCALE));
const CONNECTIONS = 16;
/** Load before the first measured run of each server (not scaled down: JIT tiering takes this long). */
const WARMUP_SECONDS = 6;
/** Alternating baseline/imagegate load runs per figure (the median pair is reported). */
const PAIRS = Math.max(1, Number(process.env.BENCH_PAIRS ?? '3'));

/** The element whose key is the median (the lower middle one for an even count). */
function medianBy<T>(items: readonly T[], key: (item: T) => number): T {
  const sorted = [...items].sort((a, b) => key(a) - key(b));
  const mid = sorted[Math.floor((sorted.length - 1) / 2)];
  if (mid === undefined) throw new Error('medianBy: no items');
  return mid;
}
/** BENCH_ONLY=cached,cachedcpu,audit,cold,coldcpu,real,memory runs some sections (the burst runs with cold). */
const ONLY = new Set(
  (process.env.BENCH_ONLY ?? 'cached,cachedcpu,audit,cold,coldcpu,real,memory').split(','),
);
/** Per image, digest-pinned, key-signed (legacy .sig), on a registry without the referrers API. */
const ROUND_TRIPS_PER_IMAGE = 2; // .sig tag → its payload blob (the other lookups can run beside them)
/**
 * Requests per image once the process knows the registry has no referrers API (every measured pod: the
 * warm-up image taught it): manifest, .sig tag, payload blob, referrers tag. No `.att` tag: nothing in a
 * signature-only policy reads attestations.
 */
const REQUESTS_PER_IMAGE = 4;
/** The first image a process checks on that registry: + the referrers API request (404 there). */
const REQUESTS_FIRST_IMAGE = 5;

/** What bench/server-child.mjs is told to run. */
interface ChildConfig {
  kind: 'baseline' | 'imagegate';
  cert: string;
  key: string;
  policy?: string;
  registry?: string;
  /** The registry speaks HTTPS (its CA comes in through NODE_EXTRA_CA_CERTS). */
  secure?: boolean;
}

interface Server {
  url: string;
  child: ChildProcess;
  cpu(): Promise<NodeJS.CpuUsage>;
  stop(): Promise<void>;
}

async function startChild(
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
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || !child.connected) return resolve();
        child.removeAllListeners('exit');
        child.once('exit', () => resolve());
        child.send({ type: 'stop' });
      }),
  };
}

let uidCounter = 0;
const review = (images: string[], targetBytes = 0, uid = `bench-${++uidCounter}`): string =>
  podReviewBody(images, targetBytes, uid);

function withUid(body: string, uid: string): string {
  return body.replace(/"uid":"[^"]*"/, `"uid":"${uid}"`);
}

async function main(): Promise<void> {
  const startedAt = Date.now();
  // The servers run the compiled code, as in production (tsx adds a loader and source-mapped stacks).
  process.stderr.write('building dist/\n');
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  const work = await mkdtemp(join(tmpdir(), 'imagegate-bench-'));
  const registry = await startRegistry();
  const seeder = new RegistrySeeder(registry);
  const key = signingKey();
  const policy = join(work, 'policy.yaml');
  await writeFile(policy, keyPolicyYaml(key));
  const cert = await createDevCertificate(work);
  const proxies: FaultProxy[] = [];
  const servers: Server[] = [];
  const proxy = async (delayMs: number): Promise<FaultProxy> => {
    const p = await startFaultProxy(registry.url);
    if (delayMs > 0) p.inject(/./, { kind: 'delay', ms: delayMs });
    proxies.push(p);
    return p;
  };
  const child = async (
    config: Omit<ChildConfig, 'cert' | 'key'>,
    profile?: string,
    env?: Record<string, string>,
  ): Promise<Server> => {
    const s = await startChild({ ...config, cert: cert.cert, key: cert.key }, profile, env);
    servers.push(s);
    return s;
  };
  const results: Record<string, unknown> = {};
  const rows: {
    figure: string;
    value: string;
    baseline: string;
    ratio: string;
    target: string;
    met: string;
    /** For a missed goal: what bounds it, computed from this run's own figures. */
    why: string;
  }[] = [];
  const row: Row = (figure, value, baseline, ratio, target, met, why = '') => {
    const note = met ? '' : why;
    rows.push({
      figure,
      value,
      baseline,
      ratio: ratio.toFixed(2),
      target,
      met: met ? 'yes' : 'NO',
      why: note,
    });
    process.stderr.write(
      `  ${figure}: ${value} vs ${baseline} → ${ratio.toFixed(2)} (${target}) ${met ? 'met' : `MISSED ${note}`}\n`,
    );
  };

  // BENCH_PROFILE=1: each imagegate server writes a --cpu-prof profile here when it stops.
  const profileDir = join(here, 'results', 'profiles');
  await rm(profileDir, { recursive: true, force: true });
  async function cachedSection(): Promise<void> {
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
  async function coldSection(): Promise<void> {
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
      }
      const medians = new Map<number, number>();
      const cpuPerImage = new Map<number, number>();
      for (const n of [1, 4, 10, 20]) {
        const trials = n === 20 ? Math.max(2, Math.round(TRIALS * 0.6)) : TRIALS;
        const latencies: number[] = [];
        const requests: number[] = [];
        let denied = 0;
        let cpu = 0; // server CPU during the reviews only (not while the next images are pushed)
        for (let trial = 0; trial < trials; trial++) {
          const images = await Promise.all(
            Array.from({ length: n }, async (_, k) => {
              const repo = `cold/d${delay}/n${n}/t${trial}/i${k}`;
              return `${p.host}/${repo}@${await pushSignedImage(seeder, p.host, repo, key)}`;
            }),
          );
          const before = p.log.length;
          const c0 = await server.cpu();
          const r = await send(client, t, review(images));
          cpu += cpuMicros(c0, await server.cpu());
          latencies.push(r.ms);
          requests.push(p.log.length - before);
          if (!r.allowed) denied++;
        }
        latencies.sort((a, b) => a - b);
        const lMin = ROUND_TRIPS_PER_IMAGE * rtt;
        const rMin = REQUESTS_PER_IMAGE * n;
        const median = percentile(latencies, 50);
        medians.set(n, median);
        cpuPerImage.set(n, cpu / trials / n);
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
      cold[`d${delay}-parallelism`] = { oneMs: one, twentyMs: twenty, ratio: twenty / one };
      row(
        `cold 20 images vs 1 image, +${delay} ms: median latency`,
        `${twenty.toFixed(1)} ms`,
        `1 image ${one.toFixed(1)} ms`,
        twenty / one,
        '≤ 1.30',
        twenty / one <= 1.3,
        `CPU: 20 images × ${((cpuPerImage.get(20) ?? 0) / 1000).toFixed(2)} ms = ` +
          `${(((cpuPerImage.get(20) ?? 0) * 20) / 1000).toFixed(0)} ms of server CPU on one thread, ` +
          `against 1.3 × ${one.toFixed(1)} = ${(1.3 * one).toFixed(1)} ms`,
      );
      await client.close();

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
  function auditSection(): void {
    // ---------------------------------------------------------------- audit record on its own
    process.stderr.write('audit record\n');
    const audit = runScript<{
      records: number;
      bytesPerRecord: number;
      pinoMicros: number;
      writerMicros: number;
    }>(join(here, 'audit.ts'), [String(Math.round(20_000 * Math.min(1, SCALE)))]);
    results.audit = audit;
    row(
      `audit record (${audit.bytesPerRecord} B): CPU per decision`,
      `${audit.writerMicros.toFixed(1)} µs`,
      `pino ${audit.pinoMicros.toFixed(1)} µs`,
      audit.writerMicros / audit.pinoMicros,
      'recorded',
      true,
    );
  }
  function cachedCpuSection(): void {
    // ---------------------------------------------------------------- a cached decision, in-process
    process.stderr.write('cached decision CPU, in-process\n');
    const c = runScript<{
      bytes: number;
      images: number;
      reviewMicros: { min: number; median: number };
      parseMicros: { min: number; median: number };
    }>(join(here, 'cached-cpu.ts'), [String(Math.round(3000 * Math.min(1, SCALE))), '5']);
    results.cachedCpu = c;
    row(
      `cached decision, in-process (${c.images} images, ${c.bytes} B): CPU, min (median) of 12 batches`,
      `${c.reviewMicros.min.toFixed(1)} (${c.reviewMicros.median.toFixed(1)}) µs`,
      `JSON.parse ${c.parseMicros.min.toFixed(1)} µs`,
      c.reviewMicros.min / c.parseMicros.min,
      'recorded',
      true,
    );
  }
  function coldCpuSection(): void {
    // ---------------------------------------------------------------- cold CPU per image, in-process
    process.stderr.write('cold CPU per image\n');
    const c = runScript<{
      images: number;
      imageMicros: number;
      okMicros: number;
      notFoundMicros: number;
      floorMicros: number;
      kinds: {
        kind: string;
        imageMicros: number;
        floorMicros: number;
        requestsPerImage: Record<string, number>;
      }[];
    }>(join(here, 'cold-cpu.ts'), [String(Math.round(100 * Math.min(1, SCALE)))]);
    results.coldCpu = c;
    // key/keyless × legacy `.sig`/bundle referrer, each in its own process; the floor prices the
    // requests each kind made (counted by status) at bare undici's cost per 200 and per 404.
    for (const k of c.kinds) {
      const ok = k.requestsPerImage['200'] ?? 0;
      const notFound = k.requestsPerImage['404'] ?? 0;
      row(
        `cold CPU per signed image, ${k.kind} (pods of 20, ${c.images} images)`,
        `${(k.imageMicros / 1000).toFixed(2)} ms`,
        `floor ${(k.floorMicros / 1000).toFixed(2)} ms`,
        k.imageMicros / 1500,
        `≤ 1.5 ms (floor: ${ok} × ${c.okMicros.toFixed(0)} + ${notFound} × ${c.notFoundMicros.toFixed(0)} µs bare undici)`,
        k.imageMicros <= 1500,
        k.floorMicros >= 1500
          ? `its requests alone cost ${(k.floorMicros / 1000).toFixed(2)} ms with bare undici on this machine`
          : `its requests alone cost ${(k.floorMicros / 1000).toFixed(2)} ms with bare undici, leaving ` +
              `${((1500 - k.floorMicros) / 1000).toFixed(2)} ms for verification and our own work ` +
              `(${((k.imageMicros - k.floorMicros) / 1000).toFixed(2)} ms measured)`,
      );
    }
  }
  function memorySection(): void {
    // ---------------------------------------------------------------- 4. memory (child with --expose-gc)
    process.stderr.write('memory\n');
    const memory = runScript<{
      points: { entries: number; bytesPerEntry: number }[];
      bound: { maxEntries: number; inserted: number; size: number; heapAtMax: number; heapAfter2x: number };
    }>(join(here, 'memory.ts'), [String(Math.round(100_000 * Math.min(1, SCALE)))], ['--expose-gc']);
    results.memory = memory;
    for (const pt of memory.points) {
      row(
        `memory: bytes per cached decision (${pt.entries} entries)`,
        `${pt.bytesPerEntry.toFixed(0)} B`,
        '2048 B',
        pt.bytesPerEntry / 2048,
        '≤ 1.00',
        pt.bytesPerEntry <= 2048,
      );
    }
    const b = memory.bound;
    const growth = b.heapAfter2x / b.heapAtMax;
    row(
      `memory: bound after inserting ${b.inserted}`,
      `${b.size} entries, heap ×${growth.toFixed(2)}`,
      `max ${b.maxEntries}`,
      b.size / b.maxEntries,
      '≤ 1.00',
      b.size <= b.maxEntries && growth < 1.2,
    );
  }
  try {
    // ---------------------------------------------------------------- 1. cached decisions
    if (ONLY.has('cached')) await cachedSection();
    if (ONLY.has('cachedcpu')) cachedCpuSection();
    if (ONLY.has('audit')) auditSection();
    if (ONLY.has('cold')) await coldSection();
    if (ONLY.has('coldcpu')) coldCpuSection();
    if (ONLY.has('real'))
      results.real = await realRegistrySection({
        registry,
        seeder,
        key,
        policy,
        work,
        child,
        row,
        review,
        ca: cert.ca,
        trials: TRIALS,
      });
    if (ONLY.has('memory')) memorySection();
  } finally {
    for (const s of servers) await s.stop().catch(() => undefined);
    for (const p of proxies) await p.stop();
    await registry.stop();
    await rm(work, { recursive: true, force: true });
  }

  const machine = {
    nproc: cpus().length,
    cpu: /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown',
    node: process.version,
    scale: SCALE,
    secondsPerLoadRun: SECONDS,
    coldTrials: TRIALS,
    durationSeconds: Math.round((Date.now() - startedAt) / 1000),
    date: new Date().toISOString(),
  };
  await mkdir(join(here, 'results'), { recursive: true });
  await writeFile(
    join(here, 'results', 'latest.json'),
    `${JSON.stringify({ machine, rows, results }, null, 2)}\n`,
  );
  const widths = (['figure', 'value', 'baseline', 'ratio', 'target', 'met', 'why'] as const).map((k) =>
    Math.max(k.length, ...rows.map((r) => r[k].length)),
  );
  const line = (cells: string[]): string =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  console.log(
    `\nimagegate bench — ${machine.nproc} × ${machine.cpu}, Node ${machine.node}, scale ${SCALE}, ${machine.durationSeconds} s\n`,
  );
  console.log(line(['figure', 'value', 'baseline', 'ratio', 'target', 'met', 'why']));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line([r.figure, r.value, r.baseline, r.ratio, r.target, r.met, r.why]));
  console.log(`\nwritten to bench/results/latest.json`);
}

await main();
