/**
 * bench/cold-parallel.ts's BENCH_TIMELINE=1 figures: where a cold key-signed pod's critical path goes.
 * Per image the first wave (manifest, `.sig` tag, referrers fallback tag) is answered at once, then the
 * `.sig`'s payload blob is asked for: the second round trip. From undici's request lifecycle (created,
 * headers, end) and, behind the memo server, when the server sent each answer (same clock), this says
 * how long each `.sig` answer waited to be read, how long after it its blob request started, and when
 * the last blob request started and was answered.
 */

export interface Entry {
  path: string;
  created: number;
  headers?: number;
  done?: number;
}

/** Milliseconds from the review's start (medians over a pod's requests where it says so). */
export interface Phases {
  /** The first request created: the review's own work before any request. */
  firstCreated: number;
  /** The last first-wave answer read (headers). */
  firstWaveLastRead: number;
  /** Median and largest `.sig` answer read → its blob request created. */
  sigToBlobMedian: number;
  sigToBlobMax: number;
  /** The last blob request created, and the last blob answer read. */
  lastBlobCreated: number;
  /** The last blob request created, from the first first-wave answer read (the wave's own spread). */
  lastBlobAfterFirstRead: number;
  /** First-wave answers read before the last blob request was created (of 3 per image). */
  readBeforeLastBlob: number;
  lastBlobRead: number;
  /** Median answer sent by the server → read by the client (memo server only), first wave and blobs. */
  firstWaveReadWait?: number;
  blobReadWait?: number;
  /** The same for the `.sig` answers alone (the critical path's first half). */
  sigReadWait?: number;
}

const median = (xs: number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

const repoOf = (path: string): string => /^\/v2\/(.+?)\/(manifests|blobs)\//.exec(path)?.[1] ?? path;
const isBlob = (e: Entry): boolean => e.path.includes('/blobs/');
const isSig = (e: Entry): boolean => e.path.endsWith('.sig');

/**
 * A pod's phases. `sent` (path → when the server sent its answer, ms since `t0Abs`'s clock origin)
 * and `t0Abs` (the review's start on that clock) add the read waits.
 */
export function phases(timeline: Entry[], sent?: Map<string, number>, t0Abs?: number): Phases {
  const blobs = timeline.filter(isBlob);
  const first = timeline.filter((e) => !isBlob(e));
  const sigRead = new Map(first.filter(isSig).map((e) => [repoOf(e.path), e.headers ?? Number.NaN]));
  const sigToBlob = blobs.map((b) => b.created - (sigRead.get(repoOf(b.path)) ?? Number.NaN));
  const lastBlob = Math.max(...blobs.map((e) => e.created));
  const out: Phases = {
    firstCreated: Math.min(...timeline.map((e) => e.created)),
    firstWaveLastRead: Math.max(...first.map((e) => e.headers ?? Number.NaN)),
    sigToBlobMedian: median(sigToBlob),
    sigToBlobMax: Math.max(...sigToBlob),
    lastBlobCreated: lastBlob,
    lastBlobAfterFirstRead: lastBlob - Math.min(...first.map((e) => e.headers ?? Number.NaN)),
    readBeforeLastBlob: first.filter((e) => (e.headers ?? Number.POSITIVE_INFINITY) < lastBlob).length,
    lastBlobRead: Math.max(...blobs.map((e) => e.headers ?? Number.NaN)),
  };
  if (sent !== undefined && t0Abs !== undefined) {
    const wait = (es: Entry[]): number =>
      median(es.map((e) => (e.headers ?? Number.NaN) - ((sent.get(e.path) ?? Number.NaN) - t0Abs)));
    out.firstWaveReadWait = wait(first);
    out.blobReadWait = wait(blobs);
    out.sigReadWait = wait(first.filter(isSig));
  }
  return out;
}

/** Each field's median over pods, rounded to 0.1 ms. */
export function medianPhases(all: Phases[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(all[0] ?? {}) as (keyof Phases)[])
    out[k] = +median(all.map((p) => p[k] ?? Number.NaN)).toFixed(2);
  return out;
}
