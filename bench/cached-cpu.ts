/**
 * A cached decision's own CPU, in-process, without HTTPS or load generation around it:
 * `node --import tsx bench/cached-cpu.ts [reviews per batch] [kb] [digest|tag]` pushes two key-signed
 * images to a real registry, makes one review of a pod naming them (by digest or by tag, padded to
 * `kb` KB) cold, then runs
 * runReview (/validate's handler, the audit line written to /dev/null) from the compiled dist/ over
 * and over on the parsed body. Twelve batches; the minimum and median batch are reported (the
 * machine is shared: the minimum is the code's cost, the median what this run saw), next to
 * JSON.parse of the same body: the work the bare-Fastify baseline does for every request too.
 *
 * BENCH_DIST=/other/checkout/dist/src measures another build; BENCH_DIST=a,b,… measures several in
 * one process, each with its own engine, batch by batch in turn (an A/B at the same moment: on a
 * shared machine, separate runs measure the load more than the code), and prints one line per build.
 * BENCH_PROFILE_DIR=dir profiles the measured reviews (not the warm-up) into dir, through the
 * inspector; with BENCH_PROFILE_ALLOC=1 a sampled allocation profile (`node bench/heap-top.mjs`).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type * as Writer from '../src/audit/writer.js';
import type * as Setup from '../src/cli/setup.js';
import type * as Review from '../src/review/index.js';
import { startRegistry } from '../test/helpers/registry.js';
import { RegistrySeeder } from '../test/helpers/registry-seeder.js';
import { keyPolicyYaml, pushSignedImage, signingKey } from '../test/helpers/signed-images.js';
import { podReviewBody } from './common.js';
// @ts-expect-error: a plain .mjs module without types (the cold bench's inspector profiles)
import { startProfile, stopProfile } from './cold-cpu-profile.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const dists = (process.env.BENCH_DIST ?? join(here, '..', 'dist', 'src')).split(',');
const PER_BATCH = Number(process.argv[2] ?? 3000);
const KB = Number(process.argv[3] ?? 5);
const BY_TAG = process.argv[4] === 'tag';
const BATCHES = 12;

interface Build {
  dist: string;
  review(): Promise<unknown>;
  micros: number[];
  close(): Promise<void>;
}

/** One build's engine and writer, from its dist/, as production runs it (bench/run.ts builds it first). */
async function load(dist: string, policy: string, host: string, body: string): Promise<Build> {
  const { createAuditWriter, openAuditDestination } = (await import(
    join(dist, 'audit', 'writer.js')
  )) as typeof Writer;
  const { setupEngine } = (await import(join(dist, 'cli', 'setup.js'))) as typeof Setup;
  const { DeadlineWatch, runReview, validateRequest } = (await import(
    join(dist, 'review', 'index.js')
  )) as typeof Review;
  const logger = pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: false }));
  const setup = await setupEngine(
    { policy: [policy], insecureRegistry: [host], allowRegistry: [], trustedRoot: [], logLevel: 'info' },
    logger,
  );
  const audit = createAuditWriter(openAuditDestination('/dev/null'));
  const deadlines = new DeadlineWatch();
  const review = (): Promise<unknown> =>
    runReview(JSON.parse(body), {
      engine: setup.engine,
      handler: validateRequest,
      mayDeny: true,
      audit,
      deadlines,
    });
  const first = (await review()) as { response: { response: { allowed: boolean } } };
  if (!first.response.response.allowed) throw new Error('the cached pod is not allowed: check the policy');
  return {
    dist,
    review,
    micros: [],
    close: async () => {
      await audit.flush();
      await setup.registry.close();
    },
  };
}

/** CPU µs per call of `fn`, over one batch. */
async function batch(fn: () => unknown): Promise<number> {
  const c0 = process.cpuUsage();
  for (let i = 0; i < PER_BATCH; i++) await fn();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / PER_BATCH;
}

const summary = (micros: readonly number[]): { min: number; median: number } => {
  const sorted = [...micros].sort((a, b) => a - b);
  return { min: sorted[0]!, median: sorted[Math.floor(sorted.length / 2)]! };
};

const registry = await startRegistry();
const work = await mkdtemp(join(tmpdir(), 'imagegate-cached-cpu-'));
try {
  const seeder = new RegistrySeeder(registry);
  const key = signingKey();
  const policy = join(work, 'policy.yaml');
  await writeFile(policy, keyPolicyYaml(key));
  const images: string[] = [];
  for (const name of ['app', 'sidecar']) {
    const digest = await pushSignedImage(seeder, registry.host, `cached/${name}`, key);
    images.push(`${registry.host}/cached/${name}${BY_TAG ? ':v1' : `@${digest}`}`);
  }
  const body = podReviewBody(images, KB * 1024, 'cached-cpu');
  const builds: Build[] = [];
  for (const dist of dists) builds.push(await load(dist, policy, registry.host, body));
  for (const b of builds) await batch(b.review); // warm-up (JIT tiering)
  // BENCH_PROFILE_DIR (+ BENCH_PROFILE_ALLOC=1): a CPU (allocation) profile of the measured reviews only.
  const profiling: unknown = await startProfile();
  for (let n = 0; n < BATCHES; n++) {
    // the builds' order alternates batch by batch
    for (const b of n % 2 === 0 ? builds : [...builds].reverse()) b.micros.push(await batch(b.review));
  }
  await stopProfile(profiling, `cached-${KB}kb-${BY_TAG ? 'tag' : 'digest'}`);
  let sink = 0;
  const parse = (): void => {
    sink += (JSON.parse(body) as { kind: string }).kind.length;
  };
  await batch(parse);
  const parseMicros: number[] = [];
  for (let n = 0; n < BATCHES; n++) parseMicros.push(await batch(parse));
  for (const b of builds) {
    await b.close();
    process.stdout.write(
      `${JSON.stringify({
        ...(builds.length > 1 ? { dist: b.dist } : {}),
        bytes: body.length,
        images: images.length,
        reviewMicros: summary(b.micros),
        parseMicros: summary(parseMicros),
        sink: sink > 0,
      })}\n`,
    );
  }
} finally {
  await registry.stop();
  await rm(work, { recursive: true, force: true });
}
