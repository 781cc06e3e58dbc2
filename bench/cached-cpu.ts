/**
 * A cached decision's own CPU, in-process, without HTTPS or load generation around it:
 * `node --import tsx bench/cached-cpu.ts [reviews per batch] [kb] [digest|tag]` pushes two key-signed
 * images to a real registry, makes one review of a pod naming them (by digest or by tag, padded to
 * `kb` KB) cold, then runs
 * runReview (/validate's handler, the audit line written to /dev/null) from the compiled dist/ over
 * and over on the parsed body. Twelve batches; the minimum and median batch are reported (the
 * machine is shared: the minimum is the code's cost, the median what this run saw), next to
 * JSON.parse of the same body: the work the bare-Fastify baseline does for every request too.
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

const here = dirname(fileURLToPath(import.meta.url));
// BENCH_DIST=/other/checkout/dist/src measures another build (an A/B of a change on the same machine).
const dist = process.env.BENCH_DIST ?? join(here, '..', 'dist', 'src');
const PER_BATCH = Number(process.argv[2] ?? 3000);
const KB = Number(process.argv[3] ?? 5);
const BY_TAG = process.argv[4] === 'tag';
const BATCHES = 12;

// From dist/, as production runs it (bench/run.ts builds it first).
const { createAuditWriter, openAuditDestination } = (await import(
  join(dist, 'audit', 'writer.js')
)) as typeof Writer;
const { setupEngine } = (await import(join(dist, 'cli', 'setup.js'))) as typeof Setup;
const { DeadlineWatch, runReview, validateRequest } = (await import(
  join(dist, 'review', 'index.js')
)) as typeof Review;

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

  const logger = pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: false }));
  const setup = await setupEngine(
    {
      policy: [policy],
      insecureRegistry: [registry.host],
      allowRegistry: [],
      trustedRoot: [],
      logLevel: 'info',
    },
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

  const batches = async (fn: () => unknown): Promise<{ min: number; median: number }> => {
    for (let i = 0; i < PER_BATCH; i++) await fn(); // warm-up (JIT tiering)
    const micros: number[] = [];
    for (let b = 0; b < BATCHES; b++) {
      const c0 = process.cpuUsage();
      for (let i = 0; i < PER_BATCH; i++) await fn();
      const c = process.cpuUsage(c0);
      micros.push((c.user + c.system) / PER_BATCH);
    }
    micros.sort((a, b) => a - b);
    return { min: micros[0]!, median: micros[Math.floor(BATCHES / 2)]! };
  };
  const reviews = await batches(review);
  let sink = 0;
  const parse = await batches(() => {
    sink += (JSON.parse(body) as { kind: string }).kind.length;
  });
  await audit.flush();
  await setup.registry.close();
  process.stdout.write(
    `${JSON.stringify({ bytes: body.length, images: images.length, reviewMicros: reviews, parseMicros: parse, sink: sink > 0 })}\n`,
  );
} finally {
  await registry.stop();
  await rm(work, { recursive: true, force: true });
}
