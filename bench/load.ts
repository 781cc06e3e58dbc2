/**
 * Load over undici: closed-loop (max throughput with `connections` requests always in flight) and
 * open-loop at a fixed arrival rate. Open-loop latency is measured from each request's scheduled
 * send time, so a server that falls behind is charged for the queue (no coordinated omission).
 */
import { Pool } from 'undici';

export interface Target {
  url: string;
  ca: string;
  path: string;
  body: string;
}

export interface LoadResult {
  requests: number;
  errors: number;
  /** Answers other than 200 with allowed: true. */
  notAllowed: number;
  seconds: number;
  rps: number;
  /** Latencies in ms. */
  p50: number;
  p99: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? Number.NaN;
}

export function pool(target: Target, connections: number): Pool {
  return new Pool(target.url, {
    connect: { ca: target.ca },
    connections,
    pipelining: 1,
    keepAliveTimeout: 30_000,
  });
}

/** One review; resolves with its latency (ms) and whether it was allowed. */
export async function send(
  p: Pool,
  target: Target,
  body = target.body,
): Promise<{ ms: number; allowed: boolean; status: number }> {
  const started = performance.now();
  const res = await p.request({
    method: 'POST',
    path: target.path,
    headers: { 'content-type': 'application/json' },
    body,
  });
  const text = await res.body.text();
  const ms = performance.now() - started;
  let allowed = false;
  try {
    allowed = (JSON.parse(text) as { response?: { allowed?: boolean } }).response?.allowed === true;
  } catch {
    allowed = false;
  }
  return { ms, allowed, status: res.statusCode };
}

function summarise(latencies: number[], errors: number, notAllowed: number, seconds: number): LoadResult {
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    errors,
    notAllowed,
    seconds,
    rps: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

export async function closedLoop(target: Target, connections: number, seconds: number): Promise<LoadResult> {
  const p = pool(target, connections);
  const latencies: number[] = [];
  let errors = 0;
  let notAllowed = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < end) {
        try {
          const r = await send(p, target);
          latencies.push(r.ms);
          if (r.status !== 200 || !r.allowed) notAllowed++;
        } catch {
          errors++;
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  await p.close();
  return summarise(latencies, errors, notAllowed, elapsed);
}

const OPEN_LOOP_CONNECTIONS = 32;

export async function fixedRate(target: Target, rps: number, seconds: number): Promise<LoadResult> {
  const p = pool(target, OPEN_LOOP_CONNECTIONS);
  // Open every connection (TLS handshake) before the clock starts: handshakes are not what is measured.
  await Promise.all(Array.from({ length: OPEN_LOOP_CONNECTIONS }, () => send(p, target)));
  const latencies: number[] = [];
  let errors = 0;
  let notAllowed = 0;
  const total = Math.max(1, Math.round(rps * seconds));
  const interval = 1000 / rps;
  const started = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const scheduled = started + i * interval;
    const wait = scheduled - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    inflight.push(
      send(p, target).then(
        (r) => {
          latencies.push(performance.now() - scheduled);
          if (r.status !== 200 || !r.allowed) notAllowed++;
        },
        () => void errors++,
      ),
    );
  }
  await Promise.all(inflight);
  const elapsed = (performance.now() - started) / 1000;
  await p.close();
  return summarise(latencies, errors, notAllowed, elapsed);
}
