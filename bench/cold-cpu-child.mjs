/**
 * The measuring half of bench/cold-cpu.ts, run with plain node over the compiled dist/ (bench/run.ts
 * builds it first; alone: `npx tsc -p tsconfig.build.json`), one process per kind of signed image:
 * an engine as `imagegate serve` builds it (setupEngine), one pod of 20 not measured (JIT,
 * connections), then pods of 20 never-seen images with process.cpuUsage() around them (and, with
 * BENCH_PROFILE_DIR, a CPU profile of those pods alone); every registry exchange is counted by status through the engine's request hook. With `floor` instead of a kind:
 * bare undici GETs of the same kinds (a 200 manifest, a 404 tag), 20 in flight, with nothing of
 * imagegate around them.
 *
 * argv[2]: a JSON file { registry: { host, url }, trustedRoot, pod, images, kinds: [{ kind, policy,
 * images, warmBody, podBodies (the reviews' bodies, made by cold-cpu.ts) }] }; argv[3]: a kind's
 * name, or `floor`. Prints one JSON line.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { Agent, request } from 'undici';

// BENCH_DIST=/other/checkout/dist/src measures another build (as bench/cached-cpu.ts).
const dist = process.env.BENCH_DIST ?? new URL('../dist/src', import.meta.url).pathname;
const { setupEngine } = await import(`${dist}/cli/setup.js`);
const { runReview } = await import(`${dist}/review/run.js`);
const { validateRequest } = await import(`${dist}/review/validate.js`);
const { DeadlineWatch } = await import(`${dist}/review/deadline.js`);

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const what = process.argv[3];
const POD = config.pod;
const N = config.images;

/** BENCH_PROFILE_DIR: a CPU profile of the measured pods only (not the warm-up), through the inspector. */
async function startProfile() {
  if (process.env.BENCH_PROFILE_DIR === undefined) return undefined;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 500 });
  await session.post('Profiler.start');
  return session;
}

async function stopProfile(session, kind) {
  if (session === undefined) return;
  const { profile } = await session.post('Profiler.stop');
  const dir = process.env.BENCH_PROFILE_DIR;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `cold-cpu-${kind}.cpuprofile`), JSON.stringify(profile));
  session.disconnect();
}

async function measureKind({ kind, policy, warmBody, podBodies }) {
  const statuses = new Map();
  let counting = false;
  const setup = await setupEngine(
    {
      policy: [policy],
      insecureRegistry: [config.registry.host],
      allowRegistry: [],
      trustedRoot: [config.trustedRoot],
      logLevel: 'info',
    },
    pino({ level: 'silent' }),
    {
      onRegistryRequest: (_registry, status) => {
        if (counting) statuses.set(status, (statuses.get(status) ?? 0) + 1);
      },
    },
  );
  const options = {
    engine: setup.engine,
    handler: validateRequest,
    mayDeny: true,
    audit: { write() {} },
    deadlines: new DeadlineWatch(),
  };
  const run = async (body) => {
    const r = await runReview(JSON.parse(body), options);
    if (!r.response.response.allowed)
      throw new Error(`${kind}: cold pod denied: ${JSON.stringify(r.response)}`);
  };
  // Every registry request, as undici is asked for it: the floor replays exactly these (issue 26).
  const made = [];
  const record = ({ request }) => {
    made.push([request.origin, request.method, request.path]);
  };
  subscribe('undici:request:create', record);
  await run(warmBody); // warm-up (JIT, connections): one pod not measured
  const warmRequests = made.splice(0);
  counting = true;
  const session = await startProfile();
  const c0 = process.cpuUsage();
  for (const body of podBodies) await run(body);
  const c = process.cpuUsage(c0);
  counting = false;
  unsubscribe('undici:request:create', record);
  await stopProfile(session, kind);
  await setup.registry.close();
  const requests = Object.fromEntries([...statuses].map(([s, n]) => [s, n / N]));
  const floorMicros = await replay(warmRequests, made);
  return {
    kind,
    imageMicros: (c.user + c.system) / N,
    requestsPerImage: requests,
    floorMicros,
    replayed: made.length,
  };
}

/**
 * The floor of a kind: bare undici replaying the very requests its measured pods made (same
 * origins, methods, paths and order; manifests with imagegate's Accept), 20 in flight, after one
 * unmeasured replay of the warm-up pod's requests. CPU per image.
 */
async function replay(warm, measured) {
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
  const window = async (list) => {
    let next = 0;
    const worker = async () => {
      while (next < list.length) await one(list[next++]);
    };
    await Promise.all(Array.from({ length: POD }, worker));
  };
  await window(warm);
  const c0 = process.cpuUsage();
  await window(measured);
  const c = process.cpuUsage(c0);
  await agent.close();
  return (c.user + c.system) / N;
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

const kind = config.kinds.find((k) => k.kind === what);
const result = what === 'floor' ? await measureFloor() : await measureKind(kind);
process.stdout.write(`${JSON.stringify(result)}\n`);
