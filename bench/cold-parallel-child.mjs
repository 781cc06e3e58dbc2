/**
 * The measuring half of bench/cold-parallel.ts (plain node over dist/): where a 20-image cold pod's
 * time goes against a 1-image pod's. Alternates, on never-seen key-signed images behind the delaying
 * proxy: imagegate's runReview (in this process, with a timeline of every registry request from
 * undici's diagnostics channels, the event loop's utilisation and process CPU around the review),
 * and bare undici making the same requests in the same dependency order (manifest, `.sig` tag and
 * referrers tag at once, then the `.sig`'s payload blob), no imagegate around them.
 *
 * With `split: k` (BENCH_SPLIT), each pod is also reviewed as k parts at once, one per worker thread
 * with its own engine (bench/cold-parallel-worker.mjs): what threads could gain, budgets not shared.
 *
 * argv[2]: a JSON file { host, policy, warm, warmParts?, warmImages, split?, pods: [{ n, body, parts?,
 * bareImages }] }. Prints one JSON line.
 */
import { subscribe } from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { Agent, request } from 'undici';
import { coldReviewOptions } from './cold-parallel-engine.mjs';

const dist = process.env.BENCH_DIST ?? new URL('../dist/src', import.meta.url).pathname;
const { runReview } = await import(`${dist}/review/run.js`);

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const { options, close } = await coldReviewOptions(dist, config.policy, config.host);

/** undici's request lifecycle, per request: created, headers, body end (ms since `t0`). */
const live = new Map();
let timeline = [];
let t0 = 0;
subscribe('undici:request:create', ({ request: r }) => {
  const e = { path: r.path, created: performance.now() - t0 };
  live.set(r, e);
  timeline.push(e);
});
subscribe('undici:request:headers', ({ request: r }) => {
  const e = live.get(r);
  if (e) e.headers = performance.now() - t0;
});
// connections opened during a run (a pod's requests should reuse the warm pool's)
let connects = 0;
subscribe('undici:client:beforeConnect', () => connects++);
subscribe('undici:request:trailers', ({ request: r }) => {
  const e = live.get(r);
  if (e) e.done = performance.now() - t0;
  live.delete(r);
});

async function imagegate(body) {
  timeline = [];
  connects = 0;
  const elu0 = performance.eventLoopUtilization();
  const c0 = process.cpuUsage();
  t0 = performance.now();
  const r = await runReview(JSON.parse(body), options);
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const elu = performance.eventLoopUtilization(elu0);
  if (!r.response.response.allowed) throw new Error(`denied: ${JSON.stringify(r.response)}`);
  // t0 on the clock the parent's memo server stamps its answers with (when each was sent)
  return {
    ms,
    cpuMs: (c.user + c.system) / 1000,
    loopBusyMs: elu.active,
    timeline,
    t0Abs: performance.timeOrigin + t0,
    connects,
  };
}

const agent = new Agent({ connections: 64 });
const accept = 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json';
async function get(path) {
  const res = await request(`http://${config.host}${path}`, { dispatcher: agent, headers: { accept } });
  const text = await res.body.text();
  return { status: res.statusCode, text };
}
/** The same requests as imagegate's, in the same dependency order, with nothing around them. */
async function bare(images) {
  timeline = [];
  connects = 0;
  const c0 = process.cpuUsage();
  t0 = performance.now();
  const t0Abs = performance.timeOrigin + t0;
  await Promise.all(
    images.map(async (ref) => {
      const [name, digest] = ref.slice(config.host.length + 1).split('@');
      const tag = digest.replace(':', '-');
      const sig = async () => {
        const m = JSON.parse((await get(`/v2/${name}/manifests/${tag}.sig`)).text);
        await get(`/v2/${name}/blobs/${m.layers[0].digest}`);
      };
      // BENCH_BARE_NO_MANIFEST=1: without the image's manifest GET (3 requests per image, not 4)
      const manifest =
        process.env.BENCH_BARE_NO_MANIFEST === '1' ? [] : [get(`/v2/${name}/manifests/${digest}`)];
      await Promise.all([...manifest, sig(), get(`/v2/${name}/manifests/${tag}`)]);
    }),
  );
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { ms, cpuMs: (c.user + c.system) / 1000, timeline, t0Abs, connects };
}

/** BENCH_SPLIT=k: k worker threads, each with its own engine, each reviewing its share of the pod. */
const workers = await Promise.all(
  Array.from({ length: config.split ?? 0 }, async () => {
    const w = new Worker(new URL('./cold-parallel-worker.mjs', import.meta.url), {
      workerData: { dist, policy: config.policy, host: config.host },
    });
    await new Promise((resolve) => w.once('message', resolve));
    return w;
  }),
);
const ask = (w, body) =>
  new Promise((resolve, reject) => {
    w.once('message', (m) => (m.allowed ? resolve(m.ms) : reject(new Error('split: denied'))));
    w.postMessage({ body });
  });
async function split(parts) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(parts.map((body, i) => ask(workers[i], body)));
  const c = process.cpuUsage(c0);
  return { ms: performance.now() - t0, cpuMs: (c.user + c.system) / 1000, timeline: [] };
}

// BENCH_FRESH=1: no warm-up pods (the first pods of a fresh process; bare still warmed, after them)
const fresh = process.env.BENCH_FRESH === '1';
// BENCH_PREWARM (with BENCH_FRESH): `serve`'s warm-up first (=imagegate: src/cli/warm-up.ts), or one
// bare undici request to a loopback server (=undici: its HTTP parser's WebAssembly compiled)
if (process.env.BENCH_PREWARM === 'imagegate') {
  const { warmUp } = await import(`${dist}/cli/warm-up.js`);
  const c0 = process.cpuUsage();
  const r = await warmUp();
  const c = process.cpuUsage(c0);
  process.stderr.write(`warm-up: ${JSON.stringify(r)}, ${((c.user + c.system) / 1000).toFixed(1)} ms CPU\n`);
}
if (process.env.BENCH_PREWARM === 'undici') {
  const { createServer } = await import('node:http');
  const s = createServer((_q, r) => r.end('{}'));
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const a = new Agent();
  const c0 = process.cpuUsage();
  await (await request(`http://127.0.0.1:${s.address().port}/`, { dispatcher: a })).body.json();
  const c = process.cpuUsage(c0);
  process.stderr.write(`prewarm undici: ${((c.user + c.system) / 1000).toFixed(1)} ms CPU\n`);
  await a.close();
  s.close();
}
if (!fresh) {
  for (const body of config.warm) await imagegate(body);
  for (const parts of config.warmParts ?? []) await split(parts);
  await bare(config.warmImages);
}
const out = [];
for (const pod of config.pods) {
  const a = await imagegate(pod.body);
  const s = pod.parts !== undefined ? await split(pod.parts) : undefined;
  const b = await bare(pod.bareImages);
  out.push({ n: pod.n, imagegate: a, split: s, bare: b });
}
await Promise.all(workers.map((w) => w.terminate()));
await close();
await agent.close();
process.stdout.write(`${JSON.stringify(out)}\n`);
