/** The sections measured in a script of their own (bench/audit.ts, cached-cpu.ts, cold-cpu.ts, memory.ts). */
import { join } from 'node:path';
import { runScript } from './common.js';
import type { BenchContext } from './context.js';
import { SCALE } from './settings.js';

export function auditSection(ctx: BenchContext): void {
  const { here, row, results } = ctx;
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

export function cachedCpuSection(ctx: BenchContext): void {
  const { here, row, results } = ctx;
  // ---------------------------------------------------------------- a cached decision, in-process
  process.stderr.write('cached decision CPU, in-process\n');
  const c = runScript<{
    bytes: number;
    images: number;
    reviewMicros: { min: number; median: number };
    parseMicros: { min: number; median: number };
  }>(join(here, 'cached-cpu.ts'), [String(Math.round(3000 * Math.min(1, SCALE))), '5']);
  row(
    `cached decision, in-process (${c.images} images, ${c.bytes} B): CPU, min (median) of 12 batches`,
    `${c.reviewMicros.min.toFixed(1)} (${c.reviewMicros.median.toFixed(1)}) µs`,
    `JSON.parse ${c.parseMicros.min.toFixed(1)} µs`,
    c.reviewMicros.min / c.parseMicros.min,
    'recorded',
    true,
  );
  // Issue 26: the same pod naming its images by tag, inside the tag window (tagTtl): as cheap as digests
  const t = runScript<typeof c>(join(here, 'cached-cpu.ts'), [
    String(Math.round(3000 * Math.min(1, SCALE))),
    '5',
    'tag',
  ]);
  results.cachedCpu = { digest: c, tag: t };
  const extra = t.reviewMicros.min - c.reviewMicros.min;
  row(
    `cached decision by tag, in-process (${t.images} tags, ${t.bytes} B): CPU, min (median)`,
    `${t.reviewMicros.min.toFixed(1)} (${t.reviewMicros.median.toFixed(1)}) µs`,
    `by digest ${c.reviewMicros.min.toFixed(1)} µs`,
    t.reviewMicros.min / c.reviewMicros.min,
    '≤ 1.25',
    t.reviewMicros.min / c.reviewMicros.min <= 1.25,
    `a tag costs ${(extra / t.images).toFixed(1)} µs more than a digest per image (the tag window's lookup)`,
  );
}

export function coldCpuSection(ctx: BenchContext): void {
  const { here, row, results } = ctx;
  // ---------------------------------------------------------------- cold CPU per image, in-process
  process.stderr.write('cold CPU per image\n');
  const c = runScript<{
    images: number;
    warmPods?: number;
    serveWarmUp?: boolean;
    imageMicros: number;
    okMicros: number;
    notFoundMicros: number;
    floorMicros: number;
    kinds: {
      kind: string;
      imageMicros: number;
      floorMicros: number;
      pricedFloorMicros: number;
      requestsPerImage: Record<string, number>;
      clientMicros?: number;
      mainThreadMicros?: number;
      connections?: number;
      floorConnections?: number;
      freshFloorMicros?: number;
      freshClientMicros?: number;
      freshFloorRange?: [number, number];
    }[];
  }>(join(here, 'cold-cpu.ts'), [String(Math.round(100 * Math.min(1, SCALE)))]);
  results.coldCpu = c;
  // key/keyless × legacy `.sig`/bundle referrer, each in its own process warmed as a running server
  // (serve's warm-up and unmeasured pods of other never-seen images); the floor is bare undici
  // replaying the very requests that kind's measured pods made, 20 in flight (issue 26), as warm as
  // the engine was: in a fresh process after the warm-up pods' requests (the in-process replay runs
  // after the engine's own measured run too: warmer; it is in the why).
  const warmth =
    c.serveWarmUp === true
      ? `after serve's warm-up + ${c.warmPods ?? '?'} unmeasured pods`
      : `after ${c.warmPods ?? 1} unmeasured pod, no serve warm-up`;
  for (const k of c.kinds) {
    const requests = Object.values(k.requestsPerImage).reduce((a, b) => a + b, 0);
    const wanted = k.kind.startsWith('keyless') ? 2 : 1.5;
    const floor = k.freshFloorMicros ?? k.floorMicros;
    const ratio = k.imageMicros / floor;
    const ms = (micros: number): string => `${(micros / 1000).toFixed(2)} ms`;
    row(
      `cold CPU per signed image, ${k.kind} (pods of 20, ${c.images} images ${warmth})`,
      ms(k.imageMicros),
      `floor ${ms(floor)}`,
      ratio,
      `≤ ${wanted.toFixed(1)} × floor (${requests.toFixed(0)} requests per image replayed by bare undici, equally warm)`,
      ratio <= wanted,
      `imagegate spends ${ms(k.imageMicros - floor)} per image beyond its requests' floor; ` +
        `${wanted}× allows ${ms((wanted - 1) * floor)} (priced floor ${ms(k.pricedFloorMicros)}` +
        (k.freshFloorRange !== undefined
          ? `; the floor is the median of fresh replays ranging ${ms(k.freshFloorRange[0])}–${ms(k.freshFloorRange[1])}`
          : '') +
        ')' +
        coldCpuSplit(k, ms),
    );
  }
}

/**
 * Where a cold image's CPU beyond the floor goes, from the same run and as warm as the floor (the
 * fresh-process replays when there): the registry client alone replaying the same requests (its
 * digests, parsing, caps and bookkeeping), the rest of the engine, the main thread's share (the rest
 * is V8's GC and compiler threads and the kernel), new connections against the floor's; then the
 * in-process replays, which run after the engine's measured pods too (warmer).
 */
function coldCpuSplit(
  k: { imageMicros: number; floorMicros: number; clientMicros?: number; mainThreadMicros?: number } & {
    connections?: number;
    floorConnections?: number;
    freshFloorMicros?: number;
    freshClientMicros?: number;
  },
  ms: (micros: number) => string,
): string {
  if (k.clientMicros === undefined) return '';
  const fresh = k.freshFloorMicros !== undefined && k.freshClientMicros !== undefined;
  const floor = fresh ? k.freshFloorMicros! : k.floorMicros;
  const client = fresh ? k.freshClientMicros! : k.clientMicros;
  const main = k.mainThreadMicros !== undefined ? `; main thread ${ms(k.mainThreadMicros)} of it` : '';
  return (
    `; the registry client alone ${ms(client)} (${(client / floor).toFixed(2)}× floor), ` +
    `the rest of the engine ${ms(k.imageMicros - client)}${main}; ` +
    `new connections ${k.connections ?? '?'} (floor ${k.floorConnections ?? '?'})` +
    (fresh
      ? `; replayed in the same process after the engine's run (warmer): floor ${ms(k.floorMicros)} ` +
        `(${(k.imageMicros / k.floorMicros).toFixed(2)}×), client alone ${ms(k.clientMicros)}`
      : '')
  );
}

export function memorySection(ctx: BenchContext): void {
  const { here, row, results } = ctx;
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
