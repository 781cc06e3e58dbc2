/**
 * The measuring half of bench/cold-cpu.ts, plain node over the compiled dist/ (`npx tsc -p
 * tsconfig.build.json`), one process per kind of signed image: an engine as `imagegate serve` builds
 * it (setupEngine), warmed as a running server (config.serveWarmUp: serve's warm-up, keyless too for
 * a keyless kind; then the warm-up pods of never-seen images, unmeasured), then pods of never-seen
 * images under process.cpuUsage() (BENCH_PROFILE_DIR: profiled), registry exchanges counted by status.
 * Then in the same process, each after replaying the warm-up pods' requests unmeasured: bare undici
 * replaying the measured requests (the floor), a fresh engine's registry client replaying them through
 * its own calls (`clientMicros`), both profiled under BENCH_PROFILE_DIR. `floor` instead of a kind:
 * bare undici GETs (a 200 manifest, a 404 tag), 20 in flight; `replay`: the floor and client replays
 * alone, of the requests in BENCH_REQUESTS_IN. argv[2]: a JSON file { registry: { host, url },
 * trustedRoot, pod, images, serveWarmUp, kinds: [{ kind, policy, images, warmBodies, podBodies }] }
 * (the bodies made by cold-cpu.ts); argv[3]: a kind, `floor` or `replay`. Prints one JSON line.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import { startProfile, stopProfile } from './cold-cpu-profile.mjs';
import { coldReviewOptions } from './cold-parallel-engine.mjs';

// BENCH_DIST=/other/checkout/dist/src measures another build (as bench/cached-cpu.ts).
const dist = process.env.BENCH_DIST ?? new URL('../dist/src', import.meta.url).pathname;
const { runReview } = await import(`${dist}/review/run.js`);
const { warmUp } = await import(`${dist}/cli/warm-up.js`);

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const what = process.argv[3];
const POD = config.pod;
const N = config.images;

/** An engine of the child's own on the bench's registry (`deps`: setupEngine's hooks). */
const engineFor = (policy, deps = {}) =>
  coldReviewOptions(dist, policy, config.registry.host, { trustedRoot: [config.trustedRoot], deps });

/** CPU (user + system, and system alone) per image, and the main thread's share (Linux: /proc). */
function cpuSince(c0, t0) {
  const c = process.cpuUsage(c0);
  const t = mainThreadMicros();
  return {
    micros: (c.user + c.system) / N,
    systemMicros: c.system / N,
    mainThreadMicros: t === undefined || t0 === undefined ? undefined : (t - t0) / N,
  };
}

/** The main thread's user + system time in µs (clock ticks of 10 ms: read over many images). */
function mainThreadMicros() {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10_000;
  } catch {
    return undefined;
  }
}

/** New connections undici makes while `fn` runs (over TLS each one is a handshake). */
async function countConnections(fn) {
  let n = 0;
  const connected = () => {
    n += 1;
  };
  subscribe('undici:client:connected', connected);
  try {
    return { result: await fn(), connections: n };
  } finally {
    unsubscribe('undici:client:connected', connected);
  }
}

async function measureKind({ kind, policy, warmBodies, podBodies }) {
  // As `serve --warm-up` before readiness (keyless pods too when the policy names a keyless authority)
  const warmedUp = config.serveWarmUp ? await warmUp({ keyless: kind.startsWith('keyless') }) : undefined;
  if (warmedUp !== undefined && !warmedUp.ok) throw new Error(`${kind}: warm-up failed: ${warmedUp.problem}`);
  const statuses = new Map();
  let counting = false;
  const { options, close } = await engineFor(policy, {
    onRegistryRequest: (_registry, status) => {
      if (counting) statuses.set(status, (statuses.get(status) ?? 0) + 1);
    },
  });
  const run = async (body) => {
    const r = await runReview(JSON.parse(body), options);
    if (!r.response.response.allowed)
      throw new Error(`${kind}: cold pod denied: ${JSON.stringify(r.response)}`);
  };
  // Every registry request, as undici is asked for it: the floor replays exactly these (issue 26),
  // with each answer's length (the client replay asks for blobs by descriptor: digest and size).
  const made = [];
  const index = new WeakMap();
  const record = ({ request }) => {
    index.set(request, made.length);
    made.push([request.origin, request.method, request.path, undefined]);
  };
  // Only the raw headers are kept while measuring (the floor pays for no recording); each answer's
  // length is read from them after the measured pods (withLengths).
  const headers = ({ request, response }) => {
    const i = index.get(request);
    if (i !== undefined) made[i][3] = response.headers;
  };
  const withLengths = (list) => {
    for (const entry of list) {
      const raw = entry[3] ?? [];
      const at = raw.findIndex((h, k) => k % 2 === 0 && String(h).toLowerCase() === 'content-length');
      entry[3] = at >= 0 ? Number(String(raw[at + 1])) : undefined;
    }
    return list;
  };
  subscribe('undici:request:create', record);
  subscribe('undici:request:headers', headers);
  // warm-up (JIT, connections): pods of other never-seen images, not measured; their requests are
  // the replays' warm-up too
  for (const body of warmBodies) await run(body);
  const warmRequests = withLengths(made.splice(0));
  counting = true;
  const session = await startProfile();
  const t0 = mainThreadMicros();
  const c0 = process.cpuUsage();
  const { connections } = await countConnections(async () => {
    for (const body of podBodies) await run(body);
  });
  const own = cpuSince(c0, t0);
  counting = false;
  unsubscribe('undici:request:create', record);
  unsubscribe('undici:request:headers', headers);
  withLengths(made);
  await stopProfile(session, kind);
  await close();
  const requests = Object.fromEntries([...statuses].map(([s, n]) => [s, n / N]));
  if (process.env.BENCH_REQUESTS_OUT !== undefined)
    writeFileSync(process.env.BENCH_REQUESTS_OUT, JSON.stringify({ warmRequests, made }));
  const floor = await replay(kind, warmRequests, made);
  const client = await replayClient(kind, policy, warmRequests, made);
  return {
    kind,
    warmPods: warmBodies.length,
    warmUpPods: warmedUp?.pods ?? 0,
    imageMicros: own.micros,
    systemMicros: own.systemMicros,
    mainThreadMicros: own.mainThreadMicros,
    connections,
    requestsPerImage: requests,
    floorMicros: floor.micros,
    floorSystemMicros: floor.systemMicros,
    floorMainThreadMicros: floor.mainThreadMicros,
    floorConnections: floor.connections,
    clientMicros: client.micros,
    clientConnections: client.connections,
    replayed: made.length,
  };
}

/** `list` in order, `POD` at a time. */
async function inWindow(list, one) {
  let next = 0;
  const worker = async () => {
    while (next < list.length) await one(list[next++]);
  };
  await Promise.all(Array.from({ length: POD }, worker));
}

/**
 * The registry client alone (a fresh engine's: empty caches) replaying the same requests through
 * its own calls, 20 in flight: manifests by digest or tag (parsed, digests checked), blobs by
 * descriptor (size and digest checked), a 404 tag as the referrers fallback answers it. What the
 * kind's CPU is beyond this is the rest of the engine's (policy, signature checks, audit).
 */
async function replayClient(kind, policy, warm, measured) {
  const { registry, close } = await engineFor(policy);
  const access = registry.access({ deadline: Date.now() + 600_000 });
  const signal = new AbortController().signal;
  const one = async ([, , path, size]) => {
    const m = /^\/v2\/(.+)\/(manifests|blobs|referrers)\/([^/?]+)(?:\?artifactType=(.*))?$/.exec(path);
    if (m === null) throw new Error(`cannot replay ${path} through the client`);
    const ref = { registry: config.registry.host, repository: m[1], original: path };
    // the API's 404 (the first warm-up pod's first lookup) teaches the client to use the tag, as the engine's
    if (m[2] === 'referrers') {
      const type = m[4] === undefined ? undefined : decodeURIComponent(m[4]);
      return access.getReferrers(ref, m[3], type, signal);
    }
    if (m[2] === 'blobs') return access.getBlob(ref, { mediaType: '', digest: m[3], size }, 1 << 26, signal);
    // a tag as the engine asks one (`.sig`, the referrers fallback): absent is an answer, not an error
    if (!m[3].includes(':') && access.findTag !== undefined) return access.findTag(ref, m[3], signal);
    return access.getManifest(ref, m[3], signal).catch((err) => {
      if (err?.code !== 'MANIFEST_UNKNOWN') throw err;
    });
  };
  const measuredCpu = await replayMeasured(warm, measured, one, `${kind}-client`);
  access.release();
  await close();
  return measuredCpu;
}

/**
 * Replays the warm-up pods' requests unmeasured, then the measured pods' (20 in flight) through `one`:
 * CPU and new connections of the measured part, profiled as `label` under BENCH_PROFILE.
 */
async function replayMeasured(warm, measured, one, label) {
  await inWindow(warm, one);
  const session = await startProfile();
  const t0 = mainThreadMicros();
  const c0 = process.cpuUsage();
  const { connections } = await countConnections(() => inWindow(measured, one));
  const cpu = cpuSince(c0, t0);
  await stopProfile(session, label);
  return { ...cpu, connections };
}

/**
 * The floor of a kind: bare undici replaying the very requests its measured pods made (same
 * origins, methods, paths and order; manifests with imagegate's Accept), 20 in flight, after an
 * unmeasured replay of the warm-up pods' requests. CPU per image.
 */
async function replay(kind, warm, measured) {
  const agent = new Agent();
  const accept = 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json';
  const one = async ([origin, method, path]) => {
    const res = await request(`${origin}${path}`, {
      method,
      dispatcher: agent,
      headers: path.includes('/manifests/') ? { accept } : {},
    });
    await res.body.arrayBuffer();
  };
  const measuredCpu = await replayMeasured(warm, measured, one, `${kind}-floor`);
  await agent.close();
  return measuredCpu;
}

async function measureFloor() {
  const agent = new Agent();
  const first = config.kinds[0].images[0];
  const [name, digest] = first.slice(config.registry.host.length + 1).split('@');
  const get = async (path) => {
    const res = await request(`${config.registry.url}${path}`, {
      dispatcher: agent,
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    await res.body.arrayBuffer();
  };
  const bare = async (path) => {
    for (let i = 0; i < 100; i++) await get(path);
    const b0 = process.cpuUsage();
    const n = 2000;
    for (let i = 0; i < n; i += POD) await Promise.all(Array.from({ length: POD }, () => get(path)));
    const b = process.cpuUsage(b0);
    return (b.user + b.system) / n;
  };
  const okMicros = await bare(`/v2/${name}/manifests/${digest}`);
  const notFoundMicros = await bare(`/v2/${name}/manifests/no-such-tag`);
  await agent.close();
  return { okMicros, notFoundMicros };
}

/** The floor and the client replay alone, in a fresh process, of requests a kind's run wrote. */
async function replayOnly(kind) {
  const { warmRequests, made } = JSON.parse(readFileSync(process.env.BENCH_REQUESTS_IN, 'utf8'));
  const floorMicros = (await replay(kind, warmRequests, made)).micros;
  const clientMicros = (await replayClient(kind, config.kinds[0].policy, warmRequests, made)).micros;
  return { kind, floorMicros, clientMicros };
}

const kind = config.kinds.find((k) => k.kind === what);
const measure = { floor: measureFloor, replay: () => replayOnly(config.kinds[0].kind) }[what];
const result = measure !== undefined ? await measure() : await measureKind(kind);
process.stdout.write(`${JSON.stringify(result)}\n`);
